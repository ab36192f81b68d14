"""Whole-process flows: payment -> receipt -> the user's messages, via the fakes."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from pipeline.messaging.queues import MAINTENANCE, TASK_POLL_RECEIPTS
from pipeline.shop.service import create_order
from schema import Order, Product, User
from scripts.fakes.providers import OFD
from tests.flows.conftest import Flow, message, next_id, payment_update, user
from tests.flows.conftest import chat as chat_id
from tests.support.processes import wait_until

pytestmark = pytest.mark.process


def start(flow: Flow, chat: int) -> None:
    flow.update(message(next_id(), chat, "/start"))
    flow.wait_text(chat, "Hello, Ann")
    flow.wait_text(chat, "Change it?")  # the last reply to /start


def order_for(flow: Flow, chat: int, method: str) -> Order:
    # The bot commits the user right after its greeting went out.
    wait_until(
        lambda: flow.scalar("SELECT count(*) FROM users WHERE telegram_id = :c", c=chat) == 1,
        10,
        "the user row",
    )
    with flow.sessions() as session:
        owner = session.execute(select(User).where(User.telegram_id == chat)).scalar_one()
        product = session.execute(select(Product)).scalars().first()
        assert product is not None
        order = create_order(session, owner, product, method)
        session.commit()
        session.refresh(order)
        session.expunge(order)
        return order


def yookassa_paid(flow: Flow, order: Order) -> str:
    payment = flow.providers.create_payment(f"{order.amount_minor / 100:.2f}", order.public_id)
    flow.providers.set_payment(payment["id"], "succeeded")
    return str(payment["id"])


def receipt_status(flow: Flow, payment_id: str, kind: str = "sell") -> str | None:
    return flow.scalar(  # type: ignore[no-any-return]
        "SELECT r.status FROM receipts r JOIN payments p ON p.id = r.payment_id "
        "WHERE p.provider_payment_id = :p AND r.kind = :k",
        p=payment_id,
        k=kind,
    )


def test_yookassa_payment_receipt_callback_sends_the_ofd_link(flow: Flow) -> None:
    chat = chat_id(101)
    start(flow, chat)
    order = order_for(flow, chat, "yookassa")
    payment_id = yookassa_paid(flow, order)
    flow.yookassa("payment.succeeded", payment_id)
    flow.wait_text(chat, f"Payment for order {order.public_id} received")
    link = flow.wait_text(chat, "Your receipt")
    uuid_ = flow.scalar(
        "SELECT register_receipt_id FROM receipts WHERE status = 'done' AND external_id LIKE 'p%'"
        " AND ofd_receipt_url = :u",
        u=link.split(": ", 1)[1],
    )
    assert uuid_ and OFD.format(uuid=uuid_) in link
    assert (
        flow.scalar("SELECT status FROM orders WHERE public_id = :o", o=order.public_id) == "paid"
    )
    # Settled by the callback: the report was fetched by the callback's handler.
    sells = flow.providers.calls("/group_1/sell")
    assert [c["body"]["external_id"] for c in sells].count(sells[-1]["body"]["external_id"]) == 1


def test_duplicated_and_out_of_order_yookassa_events_notify_once(flow: Flow) -> None:
    chat = chat_id(102)
    start(flow, chat)
    order = order_for(flow, chat, "yookassa")
    payment = flow.providers.create_payment("1490.00", order.public_id)
    flow.yookassa("payment.waiting_for_capture", payment["id"])  # still pending at the API
    wait_until(
        lambda: (
            flow.scalar(
                "SELECT status FROM payments WHERE provider_payment_id = :p", p=payment["id"]
            )
            == "pending"
        ),
        20,
        "the pending payment",
    )
    flow.providers.set_payment(payment["id"], "succeeded")
    with ThreadPoolExecutor(3) as pool:  # the same webhook three times at once
        list(pool.map(lambda _: flow.yookassa("payment.succeeded", payment["id"]), range(3)))
    flow.yookassa("payment.canceled", payment["id"])  # a late, stale notification
    flow.wait_text(chat, "Your receipt")
    flow.wait_text(chat, "received")  # a 429 may have put it back behind the receipt
    time.sleep(2)  # room for any extra message to show up
    texts = flow.texts(chat)
    assert sum("received" in t for t in texts) == 1
    assert sum("Your receipt" in t for t in texts) == 1
    assert (
        flow.scalar("SELECT status FROM orders WHERE public_id = :o", o=order.public_id) == "paid"
    )


def test_stars_purchase_through_the_bot_has_no_receipt(flow: Flow) -> None:
    chat = chat_id(103)
    start(flow, chat)
    product_id = flow.scalar("SELECT id FROM products LIMIT 1")
    callback = {
        "update_id": next_id(),
        "callback_query": {
            "id": f"cb{chat}",
            "from": user(chat),
            "chat_instance": "1",
            "data": f"pay:stars:{product_id}",
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "text": "choose",
            },
        },
    }
    flow.update(callback)
    wait_until(lambda: flow.texts(chat, "sendInvoice") != [], 20, "the invoice")
    invoice = next(c for c in flow.bot.sent("sendInvoice") if c.get("chat_id") == chat)
    assert invoice["currency"] == "XTR" and invoice["prices"][0]["amount"] == 50
    order = str(invoice["payload"])
    pre_checkout = {
        "update_id": next_id(),
        "pre_checkout_query": {
            "id": f"pcq{chat}",
            "from": user(chat),
            "currency": "XTR",
            "total_amount": 50,
            "invoice_payload": order,
        },
    }
    flow.update(pre_checkout)
    wait_until(
        lambda: any(c.get("ok") is True for c in flow.bot.sent("answerPreCheckoutQuery")),
        20,
        "the pre-checkout answer",
    )
    paid = payment_update(next_id(), chat, "successful_payment", order, 50, f"stx{chat}")
    flow.update(paid)
    flow.update(paid)  # Telegram re-delivers: stored once
    flow.wait_text(chat, "50 ⭐")
    time.sleep(1)
    assert sum("received" in t for t in flow.texts(chat)) == 1
    assert flow.scalar("SELECT status FROM orders WHERE public_id = :o", o=order) == "paid"
    # Stars are not money under 54-FZ: no receipt, nothing sent to ATOL for this order.
    assert (
        flow.scalar(
            "SELECT count(*) FROM receipts r JOIN payments p ON p.id = r.payment_id"
            " WHERE p.provider = 'telegram'"
        )
        == 0
    )


def test_yookassa_refund_notifies_and_sends_the_refund_receipt(flow: Flow) -> None:
    chat = chat_id(104)
    start(flow, chat)
    order = order_for(flow, chat, "yookassa")
    payment_id = yookassa_paid(flow, order)
    flow.yookassa("payment.succeeded", payment_id)
    flow.wait_text(chat, "Your receipt")
    answer = httpx.post(
        f"{flow.providers.url}/v3/refunds",
        json={"payment_id": payment_id, "amount": {"value": "1490.00", "currency": "RUB"}},
        headers={"Idempotence-Key": uuid.uuid4().hex},
    )
    flow.yookassa("refund.succeeded", answer.json()["id"])
    flow.wait_text(chat, "Refund of RUB\u00a01,490.00")  # in the user's locale (en)
    flow.wait_text(chat, "Refund receipt")
    assert flow.scalar("SELECT status FROM orders WHERE public_id = :o", o=order.public_id) == (
        "refunded"
    )


def test_blocked_user_is_marked_inactive_and_not_retried(flow: Flow) -> None:
    chat = chat_id(105)
    start(flow, chat)
    with flow.bot.state.lock:
        flow.bot.state.blocked.add(chat)
    try:
        order = order_for(flow, chat, "stars")
        flow.update(
            payment_update(next_id(), chat, "successful_payment", order.public_id, 50, f"stx{chat}")
        )
        wait_until(
            lambda: (
                flow.scalar("SELECT is_active FROM users WHERE telegram_id = :c", c=chat) is False
            ),
            30,
            "the user to be inactive",
        )
        time.sleep(3)  # a retry would show up as another call
        calls = [
            c
            for c in flow.bot.sent()
            if c.get("chat_id") == chat and "received" in str(c.get("text"))
        ]
        assert len(calls) == 1
        assert (
            flow.scalar(
                "SELECT status FROM notifications WHERE chat_id = :c AND kind = 'payment_received'",
                c=chat,
            )
            == "skipped"
        )
    finally:
        with flow.bot.state.lock:
            flow.bot.state.blocked.discard(chat)


def test_receipt_without_callback_is_settled_by_polling(
    flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = chat_id(106)
    start(flow, chat)
    with flow.providers.state.lock:
        flow.providers.state.atol_callbacks = False
    try:
        order = order_for(flow, chat, "yookassa")
        payment_id = yookassa_paid(flow, order)
        flow.yookassa("payment.succeeded", payment_id)
        wait_until(lambda: receipt_status(flow, payment_id) == "wait", 30, "the receipt to wait")
    finally:
        with flow.providers.state.lock:
            flow.providers.state.atol_callbacks = True
    time.sleep(1.2)  # RECEIPT_POLL_AFTER_S=1
    # What beat would do every 30 s, sent through the broker now.
    flow.send_task(TASK_POLL_RECEIPTS, MAINTENANCE, monkeypatch=monkeypatch)
    flow.wait_text(chat, "Your receipt")
    assert receipt_status(flow, payment_id) == "done"


def test_one_chats_updates_are_answered_in_order_by_concurrent_worker_processes(
    flow: Flow,
) -> None:
    chat = chat_id(107)
    commands = ["/help" if i % 2 else "/orders" for i in range(6)]
    # Posted back to back: each is its own ingest task, taken by either pool process.
    for command in commands:
        flow.update(message(next_id(), chat, command))
    wait_until(lambda: len(flow.texts(chat)) == 6, 40, "six replies", 0.2)
    got = ["help" if t.startswith("/catalog") else "orders" for t in flow.texts(chat)]
    assert got == ["help" if c == "/help" else "orders" for c in commands]
