"""Registering a receipt with the cash register, and polling the ones still waiting.

Callers (tasks) own the session and commit; HTTP runs while the receipt row is locked so
two workers never register one receipt at once (the register deduplicates anyway).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from pydantic_settings import SettingsConfigDict
from sqlalchemy.orm import Session

from pipeline.deps import Deps
from pipeline.domain.context import DomainContext
from pipeline.domain.money import exponent
from pipeline.providers.api.ports import AtolApi
from pipeline.providers.atol import normalize_report
from pipeline.providers.unsigned import callback_path
from pipeline.receipts import repository
from pipeline.receipts.service import on_receipt
from pipeline.redaction import HasSecrets
from pipeline.settings import ENV_FILE
from schema.catalog import Product
from schema.orders import Order, Payment, Receipt

# How long a receipt may stay `pending` (its task lost) before the poller resends it.
PENDING_GRACE = timedelta(minutes=2)
BATCH = 100


class ReceiptSettings(HasSecrets):
    model_config = SettingsConfigDict(env_prefix="RECEIPT_", env_file=ENV_FILE, extra="ignore")

    company_inn: str = ""
    company_email: str = ""
    payment_address: str = ""
    # Taxation system (osn, usn_income, usn_income_outcome, esn, patent).
    sno: str = "usn_income"
    # Buyer contact when the bot knows none (54-FZ needs one for online sales).
    client_email: str = ""


class Register(Protocol):
    def register(self, operation: str, body: dict[str, Any]) -> str: ...


def _rub(minor: int, currency: str) -> float:
    return float(Decimal(minor).scaleb(-exponent(currency)))


def atol_body(
    deps: Deps, receipt: Receipt, payment: Payment, product: Product | None
) -> dict[str, Any]:
    s, base = deps.providers.receipt, deps.settings.public_base_url.rstrip("/")
    total = _rub(receipt.total_minor, payment.currency)
    item = {
        "name": (product.title_ru if product else "Оплата заказа")[:128],
        "price": total,
        "quantity": 1,
        "sum": total,
        "measure": 0,
        "payment_method": "full_payment",
        "payment_object": 4 if not product or product.payment_object == "service" else 1,
        "vat": {"type": product.vat if product else "none"},
    }
    return {
        "external_id": receipt.external_id,
        "timestamp": datetime.now(UTC).strftime("%d.%m.%Y %H:%M:%S"),
        "service": {"callback_url": base + callback_path("atol", deps.providers.atol)},
        "receipt": {
            "client": {"email": s.client_email or s.company_email},
            "company": {
                "email": s.company_email,
                "sno": s.sno,
                "inn": s.company_inn,
                "payment_address": s.payment_address,
            },
            "items": [item],
            "payments": [{"type": 1, "sum": total}],
            "total": total,
        },
    }


def register_receipt(
    session: Session, receipt_id: int, register: Register, deps: Deps
) -> str | None:
    """Send a pending receipt to the register; its uuid, or None when nothing was to do."""
    receipt = session.get(Receipt, receipt_id, with_for_update=True)
    if receipt is None or receipt.status != "pending":
        return None
    payment = session.get(Payment, receipt.payment_id)
    assert payment is not None
    order = session.get(Order, payment.order_id) if payment.order_id else None
    product = session.get(Product, order.product_id) if order else None
    receipt.attempts += 1
    uuid = register.register(receipt.kind, atol_body(deps, receipt, payment, product))
    receipt.register_receipt_id = uuid
    receipt.status = "wait"
    receipt.next_poll_at = datetime.now(UTC) + timedelta(seconds=deps.settings.receipt_poll_after_s)
    return uuid


def due_receipts(session: Session, now: datetime) -> tuple[list[int], list[int]]:
    """(waiting receipts to poll, pending receipts whose registering task was lost)."""
    waiting = repository.waiting_due(session, now, BATCH)
    pending = repository.pending_since(session, now - PENDING_GRACE, BATCH)
    return waiting, pending


def poll_receipt(ctx: DomainContext, receipt_id: int, api: AtolApi) -> str | None:
    """Ask the register about a waiting receipt; apply its report. The new status."""
    receipt = ctx.session.get(Receipt, receipt_id, with_for_update=True)
    if receipt is None or receipt.status != "wait" or not receipt.register_receipt_id:
        return None
    report = api.report(receipt.register_receipt_id)
    if report.get("status") == "wait":
        receipt.next_poll_at = datetime.now(UTC) + timedelta(
            seconds=ctx.deps.settings.receipt_poll_after_s
        )
        return "wait"
    event = normalize_report(report, f"poll:{receipt.register_receipt_id}")
    on_receipt(ctx, event)
    return receipt.status
