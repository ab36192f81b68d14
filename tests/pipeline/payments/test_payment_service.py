"""Payment events against the database: rows, order status, outbox, receipts, tasks."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.domain.normalized import PaymentEvent, PaymentStatus
from pipeline.messaging.queues import TASK_REGISTER_RECEIPT, TASK_SEND_NOTIFICATIONS
from pipeline.payments.service import apply_event
from pipeline.settings import get_settings
from schema import Notification, Order, Payment, Receipt
from tests.pipeline.payments.conftest import RecordingSender, run

S = PaymentStatus


def ev(status: PaymentStatus, ref: str = "ord-1", **kw: int) -> PaymentEvent:
    return PaymentEvent(
        provider="yookassa",
        provider_payment_id="pay-1",
        order_reference=ref,
        amount=10000,
        currency="RUB",
        status=status,
        raw_reference=f"yookassa:pay-1:{status}",
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(autouse=True)
def _atol(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FISCAL_REGISTER", "atol")
    monkeypatch.setenv("ALERT_CHAT_ID", "-100500")
    get_settings.cache_clear()


def test_success_records_payment_notifies_and_requests_a_receipt(
    db: sessionmaker[Session], order: Order, sent: RecordingSender
) -> None:
    run(db, apply_event, ev(S.PENDING))
    run(db, apply_event, ev(S.SUCCEEDED, paid_amount=10000))
    run(db, apply_event, ev(S.SUCCEEDED, paid_amount=10000))  # repeat
    with db() as session:
        payment = session.execute(select(Payment)).scalar_one()
        assert (payment.status, payment.paid_minor, payment.order_id) == (
            "succeeded",
            10000,
            order.id,
        )
        assert session.get(Order, order.id).status == "paid"  # type: ignore[union-attr]
        notes = session.execute(select(Notification)).scalars().all()
        assert [n.template for n in notes] == ["payment_received"]
        assert notes[0].chat_id == 1001 and notes[0].params["order"] == "ord-1"
        receipt = session.execute(select(Receipt)).scalar_one()
        assert (receipt.kind, receipt.external_id, receipt.total_minor) == (
            "sell",
            f"p{payment.id}-sell-0",
            10000,
        )
    assert sent.names().count(TASK_REGISTER_RECEIPT) == 1
    assert TASK_SEND_NOTIFICATIONS in sent.names()


def test_refund_adds_a_refund_receipt_and_notification(
    db: sessionmaker[Session], order: Order, sent: RecordingSender
) -> None:
    run(db, apply_event, ev(S.SUCCEEDED, paid_amount=10000))
    run(db, apply_event, ev(S.PARTIALLY_REFUNDED, paid_amount=10000, refunded_amount=3000))
    run(db, apply_event, ev(S.REFUNDED, paid_amount=10000, refunded_amount=10000))
    run(db, apply_event, ev(S.PARTIALLY_REFUNDED, paid_amount=10000, refunded_amount=3000))
    with db() as session:
        receipts = session.execute(select(Receipt).order_by(Receipt.id)).scalars().all()
        assert [(r.kind, r.refund_seq, r.total_minor) for r in receipts] == [
            ("sell", 0, 10000),
            ("sell_refund", 1, 3000),
            ("sell_refund", 2, 7000),
        ]
        kinds = session.execute(select(Notification.template).order_by(Notification.id)).scalars()
        assert list(kinds) == ["payment_received", "refund_done", "refund_done"]
        assert session.get(Order, order.id).status == "refunded"  # type: ignore[union-attr]


def test_refund_arriving_first_still_creates_the_sell_receipt(
    db: sessionmaker[Session], order: Order, sent: RecordingSender
) -> None:
    run(db, apply_event, ev(S.REFUNDED, paid_amount=10000, refunded_amount=10000))
    run(db, apply_event, ev(S.SUCCEEDED, paid_amount=10000))
    with db() as session:
        kinds = session.execute(select(Receipt.kind).order_by(Receipt.id)).scalars()
        assert list(kinds) == ["sell", "sell_refund"]
        assert session.execute(select(Payment.status)).scalar_one() == "refunded"


def test_failed_payment_notifies_once(
    db: sessionmaker[Session], order: Order, sent: RecordingSender
) -> None:
    run(db, apply_event, ev(S.CANCELED))
    run(db, apply_event, ev(S.SUCCEEDED))  # stale: a canceled payment stays canceled
    with db() as session:
        assert session.execute(select(Notification.template)).scalars().all() == ["payment_failed"]
        assert session.get(Order, order.id).status == "canceled"  # type: ignore[union-attr]
        assert session.execute(select(Receipt)).first() is None


def test_payment_without_an_order_is_recorded_quietly(
    db: sessionmaker[Session], sent: RecordingSender
) -> None:
    run(db, apply_event, ev(S.SUCCEEDED, ref="unknown"))
    with db() as session:
        assert session.execute(select(Payment.status)).scalar_one() == "succeeded"
        assert session.execute(select(Notification)).first() is None
