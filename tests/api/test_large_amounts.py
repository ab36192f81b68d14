"""Money above 2^31 minor units (30 million roubles) is stored and read back whole; prices
outside the allowed range are a 422, never a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from pipeline.domain.money import MAX_PRICE_MINOR
from schema import Order, Payment, Receipt
from tests.api.conftest import bearer
from tests.pipeline.payments.conftest import make_order

LARGE = 3_000_000_000  # kopecks: above the 2,147,483,647 of a 32-bit column


def test_a_large_price_round_trips(api_client: TestClient, staff_token: Callable[..., str]) -> None:
    operator = bearer(staff_token("operator"))
    body = {"code": "estate", "price_minor": LARGE, "translations": {
        "ru": {"title": "Дом"}, "en": {"title": "House"}}}  # fmt: skip
    created = api_client.post("/api/v1/products", json=body, headers=operator)
    assert created.status_code == 201, created.text
    assert created.json()["price_minor"] == LARGE
    product_id = created.json()["id"]
    changed = api_client.patch(
        f"/api/v1/products/{product_id}", json={"price_minor": LARGE + 1}, headers=operator
    )
    assert changed.status_code == 200 and changed.json()["price_minor"] == LARGE + 1
    listed = api_client.get("/api/v1/products", headers=operator).json()
    assert [p["price_minor"] for p in listed] == [LARGE + 1]


@pytest.mark.parametrize("price", [-1, MAX_PRICE_MINOR + 1, 10**30, 1.5, "lots"])
def test_an_impossible_price_is_refused(
    api_client: TestClient, staff_token: Callable[..., str], price: object
) -> None:
    body = {"code": "bad", "price_minor": price, "translations": {
        "ru": {"title": "x"}, "en": {"title": "x"}}}  # fmt: skip
    answer = api_client.post("/api/v1/products", json=body, headers=bearer(staff_token("operator")))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_large_orders_payments_and_receipts_round_trip(
    api_client: TestClient, db: sessionmaker[Session], staff_token: Callable[..., str]
) -> None:
    with db() as session:
        order = make_order(session)
        order.amount_minor = LARGE
        payment = Payment(
            provider="yookassa", provider_payment_id="big-1", order_id=order.id,
            status="succeeded", amount_minor=LARGE, currency="RUB", paid_minor=LARGE,
            refunded_minor=LARGE - 1, overpaid_minor=LARGE + 2,
        )  # fmt: skip
        session.add(payment)
        session.flush()
        session.add(Receipt(payment_id=payment.id, kind="sell", register="atol",
                            external_id="big-r1", total_minor=LARGE))  # fmt: skip
        session.commit()
        order_id = order.id
    viewer = bearer(staff_token("viewer"))
    got = api_client.get("/api/v1/orders/ord-1", headers=viewer)
    assert got.status_code == 200, got.text
    assert got.json()["amount_minor"] == LARGE
    [paid] = api_client.get("/api/v1/payments", headers=viewer).json()["items"]
    assert (paid["amount_minor"], paid["paid_minor"], paid["refunded_minor"]) == (
        LARGE, LARGE, LARGE - 1,
    )  # fmt: skip
    [receipt] = api_client.get("/api/v1/receipts", headers=viewer).json()["items"]
    assert receipt["total_minor"] == LARGE
    with db() as session:
        stored = session.get(Order, order_id)
        assert stored is not None and stored.amount_minor == LARGE
