"""Receipt rows: created with the payment change that needs them, settled by reports.

`request_*` run inside the payment's transaction and send the registering task after
commit; `on_receipt` applies a register's report (callback re-fetch or poll).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from loguru import logger

from pipeline.alerts.checks import RECEIPT as RECEIPT_ALERT
from pipeline.deps import Deps
from pipeline.domain.context import DomainContext
from pipeline.domain.normalized import NormalizedEvent, ReceiptEvent, ReceiptStatus
from pipeline.live import orders as _live_orders  # noqa: F401  (announces order changes)
from pipeline.messaging.queues import FISCAL, TASK_REGISTER_RECEIPT
from pipeline.messaging.tasks import send_tasks
from pipeline.notifications.announce import alert_operators, notify_user
from pipeline.receipts import repository
from schema.orders import Order, Payment

RANK = {"pending": 0, "wait": 1, "done": 2, "fail": 2}
# Stars are not money under 54-FZ: no receipts for them.
NO_RECEIPT_CURRENCIES = frozenset({"XTR"})


def receipt_row(
    deps: Deps, payment: Payment, kind: str, seq: int, total: int
) -> dict[str, Any] | None:
    """The receipt `payment` needs, or None when no receipt is made for it."""
    register = deps.settings.fiscal_register or None
    if register is None or payment.currency in NO_RECEIPT_CURRENCIES:
        return None
    return {
        "payment_id": payment.id,
        "kind": kind,
        "refund_seq": seq,
        "register": register,
        "external_id": f"p{payment.id}-{kind}-{seq}",
        "total_minor": total,
    }


def sell_row(deps: Deps, payment: Payment, order: Order) -> dict[str, Any] | None:
    return receipt_row(deps, payment, "sell", 0, payment.paid_minor or order.amount_minor)


def create_receipts(ctx: DomainContext, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the receipts that are new and send their registering tasks after commit."""
    ids = list(repository.insert_receipts(ctx.session, rows).values())
    if ids:
        sender = ctx.deps.sender
        args = [(receipt_id,) for receipt_id in ids]
        ctx.after_commit(lambda: send_tasks(sender, TASK_REGISTER_RECEIPT, FISCAL, args))
    return ids


def _create(ctx: DomainContext, row: dict[str, Any] | None) -> int | None:
    if row is None:
        return None
    created = create_receipts(ctx, [row])
    return created[0] if created else None


def request_sell(ctx: DomainContext, payment: Payment, order: Order) -> int | None:
    return _create(ctx, sell_row(ctx.deps, payment, order))


def request_refund(ctx: DomainContext, payment: Payment, order: Order, amount: int) -> int | None:
    seq = repository.count_refund_receipts(ctx.session, payment.id) + 1
    return _create(ctx, receipt_row(ctx.deps, payment, "sell_refund", seq, amount))


def on_receipt(ctx: DomainContext, event: NormalizedEvent) -> None:
    if not isinstance(event, ReceiptEvent):
        return
    receipt = repository.lock_for_report(ctx.session, event)
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
            seconds=ctx.deps.settings.receipt_poll_after_s
        )
        return
    order, user = repository.owner(ctx.session, receipt)
    if event.status is ReceiptStatus.DONE:
        receipt.ofd_receipt_url = event.ofd_receipt_url
        receipt.fiscal = _fiscal(event)
        if user is not None and order is not None:
            params = {"order": order.public_id, "url": event.ofd_receipt_url or ""}
            template = "receipt_ready" if receipt.kind == "sell" else "refund_receipt_ready"
            notify_user(ctx, user, f"receipt:{receipt.id}:done", template, params)
        return
    receipt.error = ctx.deps.redactor.stored_error(event.error) if event.error else None
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
