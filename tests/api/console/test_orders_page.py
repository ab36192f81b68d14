"""The orders pages: list with filters, one order with payments, receipts (OFD link),
messages and events, and a refund behind a confirmation (in a real browser)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from schema import Event, Notification, Order, Payment, Receipt
from scripts.fakes.bot_api import FakeBotApiThread
from tests.api.console.conftest import open_page, signed_in
from tests.api.console.support import Operator, shot, start_session
from tests.pipeline.payments.conftest import make_order

OFD = "https://ofd.example/receipt/42"


@pytest.fixture
def bot_api(api_env: pytest.MonkeyPatch) -> Iterator[FakeBotApiThread]:
    server = FakeBotApiThread()
    api_env.setenv("TELEGRAM_BOT_TOKEN", "777:console")
    api_env.setenv("TELEGRAM_API_BASE", server.url)
    yield server
    server.stop()


def paid_stars_order(db: sessionmaker[Session]) -> str:
    """An order paid in Stars, with its receipt, the buyer's message and the event."""
    with db() as session:
        order = make_order(session, public_id="o-console1", method="telegram", currency="XTR")
        order.status = "paid"
        payment = Payment(
            provider="telegram", provider_payment_id="charge-77", order_id=order.id,
            status="succeeded", amount_minor=50, paid_minor=50, currency="XTR",
            details={"payer_id": 1001},
        )  # fmt: skip
        session.add(payment)
        session.flush()
        session.add_all([
            Receipt(payment_id=payment.id, kind="sell", register="atol", external_id="r-1",
                    status="done", total_minor=50, ofd_receipt_url=OFD),
            Notification(dedup_key=f"payment:{payment.id}:paid", user_id=order.user_id,
                         chat_id=1001, kind="payment_received", text="paid", status="sent",
                         sent_at=datetime.now(UTC)),
            Event(source="telegram", type="successful_payment", external_id="upd-9",
                  status="processed", received_at=datetime.now(UTC),
                  payload={"message": {"successful_payment": {
                      "telegram_payment_charge_id": "charge-77",
                      "invoice_payload": "o-console1"}}}),
        ])  # fmt: skip
        make_other = Order(
            public_id="o-other", user_id=order.user_id, product_id=order.product_id,
            amount_minor=10000, currency="RUB", payment_method="yookassa", status="pending",
        )  # fmt: skip
        session.add(make_other)
        session.commit()
        return order.public_id


def test_filters_detail_and_roles_over_http(
    console_client: TestClient, db: sessionmaker[Session], operator: Callable[..., Operator]
) -> None:
    public_id = paid_stars_order(db)
    client = signed_in(console_client, operator("viewer"))
    page = client.get("/admin/orders", params={"status": "paid"})
    assert page.status_code == 200 and public_id in page.text and "o-other" not in page.text
    assert "o-other" in client.get("/admin/orders", params={"method": "yookassa"}).text
    assert public_id in client.get("/admin/orders", params={"q": "1001"}).text
    detail = client.get(f"/admin/orders/{public_id}").text
    assert OFD in detail and "payment received" in detail and "upd-9" in detail
    assert 'data-test="refund"' not in detail  # a viewer sees, does not refund
    assert client.get("/admin/orders/o-nope").status_code == 404
    payments = client.get("/admin/payments", params={"provider": "telegram"}).text
    assert "charge-77" in payments and public_id in payments
    assert "charge-77" not in client.get("/admin/payments", params={"status": "refunded"}).text
    assert "charge-77" not in client.get("/admin/payments", params={"mismatched": "true"}).text
    assert client.get("/admin/orders", params={"before": "x"}).status_code in (400, 422)
    viewer = client.cookies.get("console")
    assert viewer
    denied = client.post(f"/admin/orders/{public_id}/refund", data={"csrf_token": "x"})
    assert denied.status_code == 403


def test_a_refund_without_csrf_is_refused(
    console_client: TestClient, db: sessionmaker[Session], operator: Callable[..., Operator]
) -> None:
    public_id = paid_stars_order(db)
    client = signed_in(console_client, operator("operator"))
    refused = client.post(f"/admin/orders/{public_id}/refund", data={})
    assert refused.status_code == 403
    with db() as session:
        assert session.scalars(select(Payment.status)).one() == "succeeded"


def test_an_operator_refunds_in_the_browser(
    bot_api: FakeBotApiThread,
    db: sessionmaker[Session],
    console_url: str,
    served_runtime: Any,
    browser: Any,
) -> None:
    public_id = paid_stars_order(db)
    who = start_session(served_runtime, "operator")
    page = open_page(browser, console_url, who, path="/admin/orders")
    page.wait_for_selector("h1:has-text('Orders')")
    shot(page, "orders-list")
    page.click("[data-test=payments-tab]")
    page.wait_for_selector("table[data-test=payments] >> text=charge-77")
    shot(page, "payments-list")
    page.go_back()
    page.click(f"a:has-text('{public_id}')")
    page.wait_for_selector("[data-test=refund]")
    assert page.get_attribute("[data-test=ofd-link]", "href") == OFD
    shot(page, "order-detail")
    page.click("[data-test=refund]")
    page.wait_for_selector("#confirm-dialog[open]")
    shot(page, "order-refund-confirm")
    page.click("[data-test=confirm-ok]")
    page.wait_for_selector(".toast:has-text('Refunded')")
    assert page.inner_text("[data-test=order-status]") == "refunded"
    shot(page, "order-refunded")
    assert [c["telegram_payment_charge_id"] for c in bot_api.sent("refundStarPayment")] == [
        "charge-77"
    ]
    phone = open_page(browser, console_url, who, path=f"/admin/orders/{public_id}", phone=True)
    phone.wait_for_selector("h1")
    shot(phone, "order-phone")
    assert page.outside == [] and page.errors == [] and phone.errors == []
