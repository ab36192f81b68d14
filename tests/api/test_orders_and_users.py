"""Orders, payments, receipts (refunds against a faked Bot API), and bot users."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from schema import Payment, Receipt, User
from tests.api.conftest import bearer
from tests.pipeline.payments.conftest import make_order


@pytest.fixture
def viewer(staff_token: Callable[..., str]) -> dict[str, str]:
    return bearer(staff_token("viewer"))


@pytest.fixture
def operator(staff_token: Callable[..., str]) -> dict[str, str]:
    return bearer(staff_token("operator"))


def _paid(db: sessionmaker[Session], currency: str = "XTR") -> str:
    with db() as session:
        order = make_order(session, method="telegram", currency=currency)
        payment = Payment(
            provider="telegram", provider_payment_id="charge-1", order_id=order.id,
            status="succeeded", amount_minor=order.amount_minor,
            paid_minor=order.amount_minor, currency=currency,
        )  # fmt: skip
        session.add(payment)
        session.flush()
        session.add(
            Receipt(payment_id=payment.id, kind="sell", register="atol",
                    external_id=f"p{payment.id}-sell-0", status="done", total_minor=100)
        )  # fmt: skip
        order.status = "paid"
        session.commit()
        return order.public_id


def test_orders_list_show_filter_and_paginate(
    api_client: TestClient, db: sessionmaker[Session], viewer: dict[str, str]
) -> None:
    public_id = _paid(db)
    page = api_client.get("/api/v1/orders", params={"status": "paid"}, headers=viewer).json()
    assert [o["public_id"] for o in page["items"]] == [public_id] and page["next_cursor"] is None
    none = api_client.get("/api/v1/orders", params={"status": "refunded"}, headers=viewer).json()
    assert none["items"] == []
    order = api_client.get(f"/api/v1/orders/{public_id}", headers=viewer).json()
    assert [p["status"] for p in order["payments"]] == ["succeeded"]
    assert [r["kind"] for r in order["receipts"]] == ["sell"]
    assert api_client.get("/api/v1/orders/nope", headers=viewer).status_code == 404
    payments = api_client.get("/api/v1/payments", params={"provider": "telegram"}, headers=viewer)
    assert len(payments.json()["items"]) == 1
    receipts = api_client.get("/api/v1/receipts", params={"status": "done"}, headers=viewer)
    assert len(receipts.json()["items"]) == 1
    for bad in ({"limit": 0}, {"cursor": 0}, {"user_id": "x"}):
        answer = api_client.get("/api/v1/orders", params=bad, headers=viewer)
        assert answer.status_code == 422, bad


@pytest.fixture
def bot_token(api_env: pytest.MonkeyPatch) -> None:
    """Set before the API starts: it reads its settings once."""
    api_env.setenv("TELEGRAM_BOT_TOKEN", "123:t")
    api_env.setenv("TELEGRAM_API_BASE", "https://tg.test")


def test_refund_stars_order_through_the_bot_api(
    bot_token: None,
    api_client: TestClient,
    db: sessionmaker[Session],
    operator: dict[str, str],
    viewer: dict[str, str],
) -> None:
    public_id = _paid(db)
    assert api_client.post(f"/api/v1/orders/{public_id}/refund", headers=viewer).status_code == 403
    with respx.mock(assert_all_called=True) as mock:
        mock.post("https://tg.test/bot123:t/refundStarPayment").respond(
            json={"ok": True, "result": True}
        )
        answer = api_client.post(f"/api/v1/orders/{public_id}/refund", headers=operator)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"order": public_id, "payment_status": "refunded"}
    again = api_client.post(f"/api/v1/orders/{public_id}/refund", headers=operator)
    assert again.status_code == 409  # nothing left to refund
    assert api_client.post("/api/v1/orders/nope/refund", headers=operator).status_code == 404


def test_users_search_block_and_unblock(
    api_client: TestClient, db: sessionmaker[Session], operator: dict[str, str],
    viewer: dict[str, str],
) -> None:  # fmt: skip
    with db() as session:
        session.add_all(
            User(telegram_id=500 + n, chat_id=500 + n, username=f"buyer_{n}", first_name="Ann")
            for n in range(5)
        )
        session.commit()
    found = api_client.get("/api/v1/users", params={"q": "buyer_3"}, headers=viewer).json()
    assert [u["telegram_id"] for u in found["items"]] == [503]
    by_id = api_client.get("/api/v1/users", params={"q": "502"}, headers=viewer).json()
    assert [u["username"] for u in by_id["items"]] == ["buyer_2"]
    first = api_client.get("/api/v1/users", params={"limit": 2}, headers=viewer).json()
    second = api_client.get(
        "/api/v1/users", params={"limit": 2, "cursor": first["next_cursor"]}, headers=viewer
    ).json()
    assert [u["id"] for u in first["items"] + second["items"]] == [5, 4, 3, 2]
    user_id = found["items"][0]["id"]
    assert api_client.post(f"/api/v1/users/{user_id}/block", headers=viewer).status_code == 403
    blocked = api_client.post(f"/api/v1/users/{user_id}/block", headers=operator).json()
    assert blocked["blocked"] is True and blocked["blocked_since"]
    listed = api_client.get("/api/v1/users", params={"blocked": True}, headers=viewer).json()
    assert [u["id"] for u in listed["items"]] == [user_id]
    unblocked = api_client.post(f"/api/v1/users/{user_id}/unblock", headers=operator).json()
    assert unblocked["blocked"] is False
    assert api_client.post("/api/v1/users/999/block", headers=operator).status_code == 404
