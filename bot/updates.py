"""The bot as a worker plugin (entry point `pipeline.handlers`): `update_processor` makes
the processor that feeds each queued update to one Dispatcher per process, on one event
loop with one Bot session reused. The worker's runtime makes one and hands it to the chat
task; everything it holds (loop, Bot, Dispatcher, database sessions, the shared rate
limit) is built at its first update, once, in the process that handles updates."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Update

from bot.factory import create_dispatcher
from bot.outbound import SharedRateLimit
from pipeline.deps import Deps
from pipeline.redaction import Redactor
from pipeline.sentry import capture, init_sentry
from pipeline.settings import Settings
from pipeline.telegram.limiter import RateLimiter
from schema.session import make_engine, make_session_factory


@dataclass
class BotRuntime:
    pid: int
    loop: asyncio.AbstractEventLoop
    bot: Bot
    dispatcher: Dispatcher


def build_bot_runtime(settings: Settings, redactor: Redactor) -> BotRuntime:
    """`redactor`: the worker process's (its log sinks and stored errors use it too)."""
    if settings.telegram_bot_token is None or not settings.database_url:
        raise RuntimeError("the bot needs TELEGRAM_BOT_TOKEN and DATABASE_URL")
    init_sentry(settings, "bot", redactor)
    loop = asyncio.new_event_loop()
    server = TelegramAPIServer.from_base(settings.telegram_api_base.rstrip("/"))
    bot = Bot(settings.telegram_bot_token.get_secret_value(), session=AiohttpSession(api=server))
    sessions = make_session_factory(make_engine(settings.database_url, pool_size=2))
    deps = Deps(settings, redactor=redactor)
    try:
        limiter: RateLimiter | None = RateLimiter(deps.redis)
    except RuntimeError:
        limiter = None
    if limiter is not None:
        bot.session.middleware(SharedRateLimit(limiter, settings))
    return BotRuntime(os.getpid(), loop, bot, create_dispatcher(sessions, limiter, deps=deps))


class BotProcessor:
    """`pipeline.telegram.updates.Processor`: feeds one stored update to the Dispatcher."""

    def __init__(self, settings: Settings, redactor: Redactor) -> None:
        self.settings = settings
        self.redactor = redactor
        self._runtime: BotRuntime | None = None

    def runtime(self) -> BotRuntime:
        current = self._runtime
        if current is None or current.pid != os.getpid():  # a forked child builds its own
            current = self._runtime = build_bot_runtime(self.settings, self.redactor)
        return current

    def __call__(self, payload: dict[str, Any]) -> None:
        rt = self.runtime()
        update = Update.model_validate(payload, context={"bot": rt.bot})
        try:
            rt.loop.run_until_complete(rt.dispatcher.feed_update(rt.bot, update))
        except Exception as exc:
            capture(exc, update_id=str(update.update_id))
            raise


def update_processor(settings: Settings, redactor: Redactor) -> BotProcessor:
    """What the worker's runtime asks a handler plugin for: the bot's update processor,
    masking with the worker process's Redactor."""
    return BotProcessor(settings, redactor)
