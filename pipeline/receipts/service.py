"""Receipt rows: created with the payment change that needs them, settled by reports.

`request_*` run inside the payment's transaction and send the registering task after
commit; `on_receipt` applies a register's report (callback re-fetch or poll).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loguru import logger
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from pipeline.alerts.checks import RECEIPT as RECEIPT_ALERT
from pipeline.domain.context import DomainContext
from pipeline.domain.normalized import NormalizedEvent, ReceiptEvent, ReceiptStatus
from pipeline.live import orders as _live_orders  # noqa: F401  (announces order changes)
from pipeline.messaging.queues import FISCAL, TASK_REGISTER_RECEIPT
from pipeline.messaging.tasks import send_task
from pipeline.notifications.announce import alert_operators, notify_user
from pipeline.settings import get_settings
from schema.orders import Order, Payment, Receipt
from schema.users import User

RANK = {"pending": 0, "wait": 1, "done": 2, "fail": 2}
# Stars are not money under 54-FZ: no receipts for them.
NO_RECEIPT_CURRENCIES = frozenset({"XTR"})


def _register() -> str | None:
    return get_settings().fiscal_register or None


def _create(ctx: DomainContext, payment: Payment, kind: str, seq: int, total: int) -> int | None:
    register = _register()
    if register is None or payment.currency in NO_RECEIPT_CURRENCIES:
        return None
    external_id = f"p{payment.id}-{kind}-{seq}"
    receipt_id = ctx.session.execute(
        insert(Receipt)
        .values(
            payment_id=payment.id,
            kind=kind,
            refund_seq=seq,
            register=register,
            external_id=external_id,
            total_minor=total,
        )
        .on_conflict_do_nothing()
        .returning(Receipt.id)
    ).scalar_one_or_none()
    if receipt_id is not None:
        ctx.after_commit(lambda: send_task(TASK_REGISTER_RECEIPT, FISCAL, receipt_id))
    return receipt_id


def request_sell(ctx: DomainContext, payment: Payment, order: Order) -> int | None:
    return _create(ctx, payment, "sell", 0, payment.paid_minor or order.amount_minor)


def request_refund(ctx: DomainContext, payment: Payment, order: Order, amount: int) -> int | None:
    count = ctx.session.execute(
        select(func.count())
        .select_from(Receipt)
        .where(Receipt.payment_id == payment.id, Receipt.kind == "sell_refund")
    ).scalar_one()
    return _create(ctx, payment, "sell_refund", int(count) + 1, amount)


def _find(session: Session, event: ReceiptEvent) -> Receipt | None:
    ours = [Receipt.register_receipt_id == event.receipt_id]
    if event.payment_reference:
        ours.append(Receipt.external_id == event.payment_reference)
    stmt = select(Receipt).where(or_(*ours)).with_for_update()
    return session.execute(stmt).scalars().first()


def _owner(session: Session, receipt: Receipt) -> tuple[Order | None, User | None]:
    payment = session.get(Payment, receipt.payment_id)
    order = session.get(Order, payment.order_id) if payment and payment.order_id else None
    user = session.get(User, order.user_id) if order else None
    return order, user


def on_receipt(ctx: DomainContext, event: NormalizedEvent) -> None:
    if not isinstance(event, ReceiptEvent):
        return
    receipt = _find(ctx.session, event)
    if receipt is None:
        logger.warning("receipt {} ({}) is not one of ours", event.receipt_id, event.provider)
        return
    if RANK[event.status.value] <= RANK[receipt.status]:
        return  # stale or repeated report
    receipt.status = event.status.value
    receipt.register_receipt_id = receipt.register_receipt_id or event.receipt_id
    receipt.next_poll_at = None
    if event.status is ReceiptStatus.WAIT:
        receipt.next_poll_at = datetime.now(UTC) + timedelta(
            seconds=get_settings().receipt_poll_after_s
        )
        return
    order, user = _owner(ctx.session, receipt)
    if event.status is ReceiptStatus.DONE:
        receipt.ofd_receipt_url = event.ofd_receipt_url
        receipt.fiscal = _fiscal(event)
        if user is not None and order is not None:
            params = {"order": order.public_id, "url": event.ofd_receipt_url or ""}
            template = "receipt_ready" if receipt.kind == "sell" else "refund_receipt_ready"
            notify_user(ctx, user, f"receipt:{receipt.id}:done", template, params)
        return
    receipt.error = event.error
    logger.error("receipt {} failed: {}", receipt.external_id, event.error)
    alert_operators(
        ctx,
        f"{RECEIPT_ALERT}{receipt.register}",
        f"{receipt.register}: receipt {receipt.external_id} ({receipt.kind}) failed: "
        f"{event.error or 'no reason given'}",
    )


def _fiscal(event: ReceiptEvent) -> dict[str, object] | None:
    if event.fiscal is None:
        return None
    f = event.fiscal
    return {
        "fn_number": f.fn_number,
        "fiscal_document_number": f.fiscal_document_number,
        "fiscal_document_attribute": f.fiscal_document_attribute,
        "fiscal_receipt_number": f.fiscal_receipt_number,
        "shift_number": f.shift_number,
        "registration_number": f.registration_number,
        "receipt_datetime": f.receipt_datetime,
        "total": f.total,
    }
