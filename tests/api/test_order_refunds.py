"""The API refunds an order through the provider that took the money, with the same clients
as `pipeline orders refund` and the refund task (respx fakes the providers' APIs)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from pipeline.payments.refunds import SENT
from pipeline.settings import get_settings
from schema import Payment
from tests.api.conftest import bearer
from tests.pipeline.payments.conftest import make_order


@pytest.fixture
def operator(staff_token: Callable[..., str]) -> dict[str, str]:
    return bearer(staff_token("operator"))


@pytest.fixture
def providers(api_env: pytest.MonkeyPatch) -> None:
    for name, value in {
        "STRIPE_API_KEY": "sk_test_refunds",
        "STRIPE_API_BASE": "https://stripe.test",
        "CLOUDPAYMENTS_PUBLIC_ID": "pk_test_1",
        "CLOUDPAYMENTS_API_SECRET": "cp-secret",
        "CLOUDPAYMENTS_API_BASE": "https://cp.test",
    }.items():
        api_env.setenv(name, value)
    api_env.delenv("TELEGRAM_BOT_TOKEN", raising=False)  # none of these needs the bot
    get_settings.cache_clear()


def _paid(db: sessionmaker[Session], provider: str, payment_id: str) -> str:
    with db() as session:
        order = make_order(session, method=provider)
        session.add(
            Payment(
                provider=provider, provider_payment_id=payment_id, order_id=order.id,
                status="succeeded", amount_minor=order.amount_minor,
                paid_minor=order.amount_minor, currency="RUB",
            )
        )  # fmt: skip
        order.status = "paid"
        session.commit()
        return order.public_id


def _payment(db: sessionmaker[Session]) -> Payment:
    with db() as session:
        return session.execute(select(Payment)).scalar_one()


def test_stripe_order_is_refunded_through_stripe(
    providers: None, api_client: TestClient, db: sessionmaker[Session], operator: dict[str, str]
) -> None:
    public_id = _paid(db, "stripe", "pi_3Refund")
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post("https://stripe.test/v1/refunds").respond(
            json={"id": "re_1", "status": "succeeded", "amount": 10000}
        )
        answer = api_client.post(f"/api/v1/orders/{public_id}/refund", headers=operator)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"order": public_id, "payment_status": "refunded"}
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Bearer sk_test_refunds"
    assert request.headers["Idempotency-Key"].startswith("refund-")
    assert b"payment_intent=pi_3Refund" in request.content and b"amount=10000" in request.content
    assert _payment(db).refunded_minor == 10000


def test_cloudpayments_order_is_refunded_once_and_the_notification_settles_it(
    providers: None, api_client: TestClient, db: sessionmaker[Session], operator: dict[str, str]
) -> None:
    public_id = _paid(db, "cloudpayments", "504")
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post("https://cp.test/payments/refund").respond(
            json={"Success": True, "Message": None}
        )
        answer = api_client.post(f"/api/v1/orders/{public_id}/refund", headers=operator)
        assert answer.status_code == 200, answer.text
        # CloudPayments' Refund notification moves the payment; until then it stays paid.
        assert answer.json()["payment_status"] == "succeeded"
        assert json.loads(route.calls.last.request.content) == {
            "TransactionId": 504,
            "Amount": 100.00,
        }
        again = api_client.post(f"/api/v1/orders/{public_id}/refund", headers=operator)
        assert again.status_code == 200 and route.call_count == 1  # accepted already
    assert _payment(db).details[SENT].startswith("refund-")


def test_a_refusal_is_a_502_and_missing_credentials_too(
    providers: None,
    api_env: pytest.MonkeyPatch,
    api_client: TestClient,
    db: sessionmaker[Session],
    operator: dict[str, str],
) -> None:
    public_id = _paid(db, "cloudpayments", "505")
    with respx.mock(assert_all_called=True) as mock:
        mock.post("https://cp.test/payments/refund").respond(
            json={"Success": False, "Message": "Transaction not found"}
        )
        answer = api_client.post(f"/api/v1/orders/{public_id}/refund", headers=operator)
    assert answer.status_code == 502
    assert "Transaction not found" in answer.json()["detail"]
    assert answer.headers["content-type"].startswith("application/problem+json")
    api_env.delenv("CLOUDPAYMENTS_API_SECRET")
    get_settings.cache_clear()
    # The API reads the providers' settings once, when it starts: a restarted one.
    with TestClient(create_app(get_settings())) as restarted:
        unset = restarted.post(f"/api/v1/orders/{public_id}/refund", headers=operator)
    assert unset.status_code == 502 and "CLOUDPAYMENTS_API_SECRET" in unset.json()["detail"]
    assert "cp-secret" not in unset.text
    assert _payment(db).status == "succeeded" and SENT not in _payment(db).details
