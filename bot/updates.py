"""The bot as a worker plugin (entry point `pipeline.handlers`): registers the processor
that feeds each queued update to one Dispatcher per process, on one event loop with one
Bot session reused."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Update

from bot.factory import create_dispatcher
from bot.outbound import SharedRateLimit
from pipeline.redis_client import redis_client
from pipeline.sentry import capture, init_sentry
from pipeline.settings import get_settings
from pipeline.telegram.limiter import RateLimiter
from pipeline.telegram.updates import set_processor
from schema.session import make_engine, make_session_factory

_runtime: dict[int, tuple[asyncio.AbstractEventLoop, Bot, Dispatcher]] = {}


def _build() -> tuple[asyncio.AbstractEventLoop, Bot, Dispatcher]:
    settings = get_settings()
    if settings.telegram_bot_token is None or not settings.database_url:
        raise RuntimeError("the bot needs TELEGRAM_BOT_TOKEN and DATABASE_URL")
    init_sentry(settings, "bot")
    loop = asyncio.new_event_loop()
    server = TelegramAPIServer.from_base(settings.telegram_api_base.rstrip("/"))
    bot = Bot(settings.telegram_bot_token.get_secret_value(), session=AiohttpSession(api=server))
    sessions = make_session_factory(make_engine(settings.database_url, pool_size=2))
    try:
        limiter: RateLimiter | None = RateLimiter(redis_client())
    except RuntimeError:
        limiter = None
    if limiter is not None:
        bot.session.middleware(SharedRateLimit(limiter))
    return loop, bot, create_dispatcher(sessions, limiter)


def process(payload: dict[str, Any]) -> None:
    pid = os.getpid()
    if pid not in _runtime:
        _runtime[pid] = _build()
    loop, bot, dp = _runtime[pid]
    update = Update.model_validate(payload, context={"bot": bot})
    try:
        loop.run_until_complete(dp.feed_update(bot, update))
    except Exception as exc:
        capture(exc, update_id=str(update.update_id))
        raise


set_processor(process)
