"""Paying by link: a YooKassa payment created through its API for an order.

The order's `public_id` goes into the payment's metadata (the webhook and reconciliation
find the order by it); the Idempotence-Key is derived from the order, so a retried or
repeated request returns the same payment. The payment row is written at once, pending,
so reconciliation can settle it even if its webhook never comes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from pipeline.domain.money import exponent
from pipeline.payments import repository
from pipeline.providers.yookassa import ORDER_ID_KEY, YooKassaProvider
from schema.orders import Order

if TYPE_CHECKING:
    from pipeline.providers.api.ports import YooKassaApi
    from pipeline.providers.settings_set import ProviderSettingsSet


def available(providers: ProviderSettingsSet) -> bool:
    """Whether this process may offer paying by link (its YooKassa settings, read once)."""
    return YooKassaProvider(providers.yookassa).configured()


def amount(minor: int, currency: str) -> dict[str, str]:
    places = exponent(currency)
    return {"value": f"{Decimal(minor).scaleb(-places):.{places}f}", "currency": currency}


def payment_body(order: Order, description: str, return_url: str) -> dict[str, Any]:
    return {
        "amount": amount(order.amount_minor, order.currency),
        "capture": True,
        "confirmation": {"type": "redirect", "return_url": return_url},
        "description": description[:128],
        "metadata": {ORDER_ID_KEY: order.public_id},
    }


def create_link(
    order: Order, description: str, return_url: str, api: YooKassaApi
) -> dict[str, Any]:
    """Ask YooKassa for the payment through the process's adapter (`deps.apis.yookassa`;
    HTTP only, no session needed); the buyer comes back to `return_url` (the process's
    PUBLIC_BASE_URL)."""
    body = payment_body(order, description, return_url)
    return api.create_payment(body, f"order-{order.public_id}")


def remember(session: Session, order: Order, payment: dict[str, Any]) -> str:
    """Store the payment (pending) and the confirmation URL on the order; the URL."""
    url = str(payment["confirmation"]["confirmation_url"])
    order.payment_url = url
    order.status = "pending"
    repository.add_pending_payment(session, YooKassaProvider.name, str(payment["id"]), order)
    return url
