"""Paying by a YooKassa link from the bot, and `pipeline orders refund` as a process."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest

from tests.flows.conftest import ROOT, Flow, next_id, payment_update, user
from tests.flows.conftest import chat as chat_id
from tests.flows.test_flows import order_for, start, yookassa_paid
from tests.support.processes import pipeline_env, wait_until

pytestmark = pytest.mark.process


def callback(chat: int, data: str) -> dict[str, object]:
    return {
        "update_id": next_id(),
        "callback_query": {
            "id": uuid.uuid4().hex[:12],
            "from": user(chat),
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "text": "menu",
            },
        },
    }


def refund(flow: Flow, public_id: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", "orders", "refund", public_id],
        env=pipeline_env(**flow.env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_pay_by_yookassa_link_from_the_bot(flow: Flow) -> None:
    chat = chat_id(301)
    start(flow, chat)
    product_id = flow.scalar("SELECT id FROM products LIMIT 1")
    flow.update(callback(chat, f"buy:{product_id}"))
    flow.wait_text(chat, "how would you like to pay")
    flow.update(callback(chat, f"pay:link:{product_id}"))
    ready = flow.wait_text(chat, "pay here")
    order = ready.split()[1].rstrip(":")
    created = [c for c in flow.providers.calls("/v3/payments") if c["method"] == "POST"]
    body = next(c for c in created if c["body"]["metadata"]["order_id"] == order)
    assert body["idempotence_key"] == f"order-{order}"
    assert body["body"]["confirmation"]["type"] == "redirect"
    assert body["body"]["amount"] == {"value": "1490.00", "currency": "RUB"}
    sent = next(c for c in flow.bot.sent() if c.get("chat_id") == chat and "pay here" in c["text"])
    url = sent["reply_markup"]["inline_keyboard"][0][0]["url"]
    assert url in ready and url.startswith("https://yoomoney.ru/")
    sql = (
        "SELECT p.provider_payment_id FROM payments p JOIN orders o ON o.id = p.order_id "
        "WHERE o.public_id = :o AND p.status = 'pending'"
    )
    # The bot commits right after its answer went out.
    wait_until(lambda: flow.scalar(sql, o=order) is not None, 10, "the pending payment row")
    payment_id = flow.scalar(sql, o=order)
    flow.providers.set_payment(payment_id, "succeeded")
    flow.yookassa("payment.succeeded", payment_id)
    flow.wait_text(chat, f"Payment for order {order} received")
    flow.wait_text(chat, "Your receipt")


def test_stars_refund_command_calls_refund_star_payment(flow: Flow) -> None:
    chat = chat_id(302)
    start(flow, chat)
    order = order_for(flow, chat, "stars")
    charge = f"stxr{chat}"
    flow.update(payment_update(next_id(), chat, "successful_payment", order.public_id, 50, charge))
    flow.wait_text(chat, "received")
    done = refund(flow, order.public_id)
    assert done.returncode == 0, done.stderr
    assert "refunded" in done.stdout
    calls = flow.bot.sent("refundStarPayment")
    assert {"user_id": chat, "telegram_payment_charge_id": charge} in calls
    flow.wait_text(chat, "Refund of 50 ⭐")
    # Telegram's own refunded_payment update later changes nothing and says nothing.
    flow.update(payment_update(next_id(), chat, "refunded_payment", order.public_id, 50, charge))
    time.sleep(2)
    assert sum("Refund of" in t for t in flow.texts(chat)) == 1
    status = flow.scalar("SELECT status FROM orders WHERE public_id = :o", o=order.public_id)
    assert status == "refunded"
    again = refund(flow, order.public_id)  # nothing left to refund
    assert again.returncode == 1 and "no paid payment" in again.stderr


def test_yookassa_refund_command_uses_the_refunds_api(flow: Flow) -> None:
    chat = chat_id(303)
    start(flow, chat)
    order = order_for(flow, chat, "yookassa")
    payment_id = yookassa_paid(flow, order)
    flow.yookassa("payment.succeeded", payment_id)
    flow.wait_text(chat, "Your receipt")
    done = refund(flow, order.public_id)
    assert done.returncode == 0, done.stderr
    posted = [c for c in flow.providers.calls("/v3/refunds") if c["method"] == "POST"]
    mine = [c for c in posted if c["body"]["payment_id"] == payment_id]
    assert len(mine) == 1 and mine[0]["idempotence_key"]
    assert mine[0]["body"]["amount"] == {"value": "1490.00", "currency": "RUB"}
    flow.wait_text(chat, "Refund of RUB\u00a01,490.00")  # in the user's locale (en)
    flow.wait_text(chat, "Refund receipt")
    wait_until(
        lambda: (
            flow.scalar("SELECT status FROM orders WHERE public_id = :o", o=order.public_id)
            == "refunded"
        ),
        10,
        "the order to be refunded",
    )
