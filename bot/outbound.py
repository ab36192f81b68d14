"""The bot's own replies share the workers' Telegram budget (pipeline/telegram/limiter.py).

aiogram sends replies directly, not through the outbox; this request middleware waits on
the shared Redis limiter before every message-sending method and honours a 429's
`retry_after` a few times, so a burst of replies (and notifications going out at the same
time) stays within Telegram's per-chat and global limits instead of failing the update.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from pipeline.settings import Settings
from pipeline.telegram.limiter import RateLimiter, telegram_limits

RETRIES_AFTER_429 = 3
# Longer waits are Telegram's flood control, not pacing: give up and let the update fail.
MAX_RETRY_AFTER_S = 10.0


def _sends_message(method: TelegramMethod[Any]) -> bool:
    name = type(method).__name__
    return name.startswith(("Send", "Copy", "Forward")) and isinstance(
        getattr(method, "chat_id", None), int
    )


class SharedRateLimit(BaseRequestMiddleware):
    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        self.limiter = limiter
        self.settings = settings  # the bot process's Telegram rates

    async def _acquire(self, chat_id: int) -> None:
        s = self.settings
        limits = telegram_limits(
            chat_id, s.telegram_global_rate, s.telegram_chat_rate, s.telegram_group_rate_per_min
        )
        while True:  # polling Redis: the budget is shared with other processes
            wait = self.limiter.try_acquire(limits)
            if wait <= 0:
                return
            await asyncio.sleep(wait)

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if not _sends_message(method):
            return await make_request(bot, method)
        chat_id: int = getattr(method, "chat_id")  # noqa: B009 - checked in _sends_message
        for _ in range(RETRIES_AFTER_429):
            await self._acquire(chat_id)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if exc.retry_after > MAX_RETRY_AFTER_S:
                    raise
                await asyncio.sleep(exc.retry_after)
        await self._acquire(chat_id)
        return await make_request(bot, method)
