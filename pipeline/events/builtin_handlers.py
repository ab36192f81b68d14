"""Handlers for the built-in providers.

Telegram updates are validated against the Bot API types (aiogram) so that a malformed
update goes dead instead of reaching the bot; Stripe payment events are checked for the
fields the payment domain relies on. Event types nobody handles end as `ignored`.
"""

from __future__ import annotations

from typing import Any

from aiogram.types import Update
from loguru import logger
from pydantic import ValidationError

from pipeline.domain.inbox import deliver, raw_reference
from pipeline.events.errors import PermanentError
from pipeline.events.handlers import HandlerContext, handlers
from pipeline.providers import stripe_events, telegram_events
from pipeline.telegram.updates import queue_update
from schema.events import EventStatus

STRIPE_PAYMENT_TYPES = ("payment_intent.*", "charge.*", "checkout.session.*")


@handlers.handles("telegram")
def telegram_update(ctx: HandlerContext) -> EventStatus | None:
    try:
        update = Update.model_validate(ctx.payload, context={})
    except ValidationError as exc:
        raise PermanentError(f"not a valid Telegram update: {exc.error_count()} errors") from exc
    logger.debug("telegram update {} of type {}", update.update_id, ctx.event.type)
    # Payment updates also go to the domain; every update is queued for the bot.
    deliver(ctx, telegram_events.normalize(ctx.event.type, ctx.payload, raw_reference(ctx)))
    queue_update(ctx, ctx.payload)
    return None


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
    deliver(ctx, stripe_events.normalize(ctx.event.type, ctx.payload, raw_reference(ctx)))
    return None
