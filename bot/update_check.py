"""The handler of Telegram updates (entry point `pipeline.handlers`): each update is
validated against the Bot API types (aiogram) so that a malformed update goes dead
instead of reaching the bot."""

from __future__ import annotations

from aiogram.types import Update
from loguru import logger
from pydantic import ValidationError

from pipeline.domain.inbox import deliver, raw_reference
from pipeline.events.errors import PermanentError
from pipeline.events.handlers import HandlerContext, handlers
from pipeline.providers import telegram
from pipeline.telegram.updates import queue_update
from schema.events import EventStatus


@handlers.handles("telegram")
def telegram_update(ctx: HandlerContext) -> EventStatus | None:
    try:
        update = Update.model_validate(ctx.payload, context={})
    except ValidationError as exc:
        raise PermanentError(f"not a valid Telegram update: {exc.error_count()} errors") from exc
    logger.debug("telegram update {} of type {}", update.update_id, ctx.event.type)
    # Payment updates also go to the domain; every update is queued for the bot.
    deliver(ctx, telegram.normalize(ctx.event.type, ctx.payload, raw_reference(ctx)))
    queue_update(ctx, ctx.payload)
    return None
