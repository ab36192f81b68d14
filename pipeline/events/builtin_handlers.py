"""Handlers for the built-in providers.

Stripe payment events are checked for the fields the payment domain relies on (Telegram
updates are checked against the Bot API types by the bot's plugin, bot.update_check).
Event types nobody handles end as `ignored`.
"""

from __future__ import annotations

from typing import Any

from loguru import logger

from pipeline.domain.inbox import deliver, raw_reference
from pipeline.events.errors import PermanentError
from pipeline.events.handlers import HandlerContext, handlers
from pipeline.providers import stripe
from schema.events import EventStatus

STRIPE_PAYMENT_TYPES = ("payment_intent.*", "charge.*", "checkout.session.*")


def _stripe_object(payload: dict[str, Any]) -> dict[str, Any]:
    data = payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise PermanentError("Stripe event has no data.object with an id")
    return obj


@handlers.handles("stripe", *STRIPE_PAYMENT_TYPES)
def stripe_payment(ctx: HandlerContext) -> EventStatus | None:
    obj = _stripe_object(ctx.payload)
    amount = obj.get("amount_total", obj.get("amount"))
    if amount is not None and (not isinstance(amount, int) or isinstance(amount, bool)):
        raise PermanentError("Stripe amounts must be integers in minor units")
    logger.debug("stripe {} for {} ({} {})", ctx.event.type, obj["id"], amount, obj.get("currency"))
    deliver(ctx, stripe.normalize(ctx.event.type, ctx.payload, raw_reference(ctx)))
    return None
