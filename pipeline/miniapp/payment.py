"""Paying a Mini App order: an invoice link (`createInvoiceLink`, opened with
`WebApp.openInvoice`) for Stars and provider payments, or the YooKassa link.

The invoice's payload is the order's `public_id`, as in the bot's `sendInvoice`: the
pre-checkout query and the successful payment then go through the same handlers and the
same payment state machine, whichever screen the buyer paid from.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session

from pipeline.deps import Deps
from pipeline.payments import links
from pipeline.settings import Settings
from schema.orders import Order

PAYABLE = {"created", "pending"}


class BotCaller(Protocol):
    def call(self, method: str, **params: Any) -> Any: ...


class NotPayable(ValueError):
    pass


def invoice_link(
    bot: BotCaller, order: Order, title: str, description: str, settings: Settings
) -> str:
    if order.status not in PAYABLE:
        raise NotPayable(f"order is {order.status}")
    if order.payment_method == "stars":
        provider_token = ""
    elif order.payment_method == "telegram":
        token = settings.telegram_payment_provider_token
        if token is None:
            raise NotPayable("provider payments are not configured")
        provider_token = token.get_secret_value()
    else:
        raise NotPayable(f"an order paid by {order.payment_method} has no invoice")
    label = title[:32]
    url: str = bot.call(
        "createInvoiceLink",
        title=label,
        description=(description or title)[:255],
        payload=order.public_id,
        provider_token=provider_token,
        currency=order.currency,
        prices=[{"label": label, "amount": order.amount_minor}],
    )
    return url


def yookassa_link(session: Session, order: Order, title: str, deps: Deps) -> str:
    """The payment page, asked of the process's YooKassa adapter (made once: the order
    keeps its URL, YooKassa's idempotence key is the order's)."""
    if order.status not in PAYABLE or order.payment_method != "yookassa":
        raise NotPayable("this order is not paid by link")
    if order.payment_url:
        return order.payment_url
    back = deps.settings.public_base_url
    payment = links.create_link(order, title, back, deps.apis.yookassa)
    return links.remember(session, order, payment)
