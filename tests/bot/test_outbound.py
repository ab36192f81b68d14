"""The bot's own replies wait on the shared limiter and survive a short 429."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.outbound import SharedRateLimit
from pipeline.redis_client import redis_client
from pipeline.settings import get_settings
from pipeline.telegram.limiter import RateLimiter
from scripts.fakes.bot_api import FakeBotApiThread, Gcra
from tests.bot.test_bot_flow import bot_env, fake  # noqa: F401


async def _send(url: str, chat: int, count: int) -> None:
    bot = Bot("123:test", session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
    bot.session.middleware(SharedRateLimit(RateLimiter(redis_client())))
    try:
        for i in range(count):
            await bot.send_message(chat, f"m{i}")
    finally:
        await bot.session.close()


def test_replies_are_paced_by_the_shared_limiter(
    bot_env: object,  # noqa: F811
    fake: FakeBotApiThread,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_CHAT_RATE", "10")
    get_settings.cache_clear()
    monkeypatch.setattr(fake.state, "chat_limit", Gcra(10.0, 1))  # no burst at all
    asyncio.run(_send(fake.url, 901, 5))
    assert [c["text"] for c in fake.sent()] == [f"m{i}" for i in range(5)]
    assert fake.state.limited == 0


def test_a_short_retry_after_is_waited_out(
    bot_env: object,  # noqa: F811
    fake: FakeBotApiThread,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Our limiter lets everything through; the fake still says 429 to the second message.
    monkeypatch.setattr(fake.state, "chat_limit", Gcra(1.0, 1))
    limited = fake.state.limited
    asyncio.run(_send(fake.url, 902, 2))
    # The fake records refused calls too: m1 was refused once, then delivered.
    assert [c["text"] for c in fake.sent()] == ["m0", "m1", "m1"]
    assert fake.state.limited == limited + 1
