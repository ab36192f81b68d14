"""The bot as a worker plugin (entry point `pipeline.handlers`): `update_processor(deps)`
makes the processor that feeds each queued update to one Dispatcher per process, on one
event loop with one Bot session reused. The worker's runtime makes one with its own `Deps`
(settings, provider settings read once, Redactor, Redis client) and hands it to the chat
task; what the bot builds itself (loop, Bot, Dispatcher, its database engine) is built at
its first update, once, in the process that handles updates, and closed with the runtime.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Update
from sqlalchemy import Engine

from bot.factory import create_dispatcher
from bot.outbound import SharedRateLimit
from pipeline.deps import Deps
from pipeline.sentry import capture, init_sentry
from pipeline.telegram.limiter import RateLimiter
from schema.session import make_engine, make_session_factory


@dataclass
class BotRuntime:
    pid: int
    loop: asyncio.AbstractEventLoop
    bot: Bot
    dispatcher: Dispatcher
    engine: Engine

    def close(self) -> None:
        """Close the Bot's HTTP session and the conversations' storage on the loop that
        opened them, then the loop and the engine. The `Deps` is the worker's to close."""
        if self.loop.is_closed():
            return
        try:
            self.loop.run_until_complete(self._close_clients())
        finally:
            self.loop.close()
            self.engine.dispose()

    async def _close_clients(self) -> None:
        await self.bot.session.close()
        await self.dispatcher.storage.close()


def build_bot_runtime(deps: Deps) -> BotRuntime:
    """`deps`: the worker process's. Its settings, provider settings, Redactor and Redis
    client serve the bot too; the bot adds only what is bound to its own event loop (the
    Bot's aiohttp session, the FSM storage's asyncio Redis client) and its engine."""
    settings = deps.settings
    if settings.telegram_bot_token is None or not settings.database_url:
        raise RuntimeError("the bot needs TELEGRAM_BOT_TOKEN and DATABASE_URL")
    init_sentry(settings, "bot", deps.redactor)
    loop = asyncio.new_event_loop()
    server = TelegramAPIServer.from_base(settings.telegram_api_base.rstrip("/"))
    bot = Bot(settings.telegram_bot_token.get_secret_value(), session=AiohttpSession(api=server))
    # An engine of its own: while the bot runs, the chat task holds two of the worker's
    # connections (the chat's lock and the update's unit of work), and a handler's failure
    # is logged and its update marked done, not retried as a task is, so the bot's pool
    # pings at checkout instead of trusting connections the worker's leaves idle.
    engine = make_engine(settings.database_url, pool_size=2)
    sessions = make_session_factory(engine)
    try:
        limiter: RateLimiter | None = RateLimiter(deps.redis)
    except RuntimeError:
        limiter = None
    if limiter is not None:
        bot.session.middleware(SharedRateLimit(limiter, settings))
    dispatcher = create_dispatcher(sessions, limiter, deps=deps)
    return BotRuntime(os.getpid(), loop, bot, dispatcher, engine)


class BotProcessor:
    """`pipeline.telegram.updates.Processor`: feeds one stored update to the Dispatcher."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._runtime: BotRuntime | None = None

    def runtime(self) -> BotRuntime:
        current = self._runtime
        if current is None or current.pid != os.getpid():  # a forked child builds its own
            current = self._runtime = build_bot_runtime(self.deps)
        return current

    def close(self) -> None:
        """Called when the worker's runtime closes; a parent's runtime is only dropped."""
        current, self._runtime = self._runtime, None
        if current is not None and current.pid == os.getpid():
            current.close()

    def __call__(self, payload: dict[str, Any]) -> None:
        rt = self.runtime()
        update = Update.model_validate(payload, context={"bot": rt.bot})
        try:
            rt.loop.run_until_complete(rt.dispatcher.feed_update(rt.bot, update))
        except Exception as exc:
            capture(exc, update_id=str(update.update_id))
            raise


def update_processor(deps: Deps) -> BotProcessor:
    """What the worker's runtime asks a handler plugin for: the bot's update processor,
    serving with the worker process's `Deps`."""
    return BotProcessor(deps)
