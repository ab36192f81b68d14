"""The bot's own replies wait on the shared limiter and survive a short 429.

The fake Bot API enforces Telegram's limits as sliding windows (at most N in any window,
wherever it starts), so a burst or a pace exactly at the limit shows up as a 429. The
limiter paces 10 % below each limit, which leaves 100 ms of jitter per second-window.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.outbound import SharedRateLimit
from pipeline.settings import get_settings
from pipeline.telegram.limiter import RateLimiter
from scripts.fakes.bot_api import FakeBotApiThread, SlidingWindow
from tests.bot.test_bot_flow import bot_env, fake  # noqa: F401
from tests.support.redis_clients import env_redis

pytestmark = pytest.mark.asyncio


async def _send(url: str, chats: list[int], per_chat: int = 1) -> None:
    """Every chat gets `per_chat` messages in order; the chats are served concurrently."""
    bot = Bot("123:test", session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
    bot.session.middleware(SharedRateLimit(RateLimiter(env_redis()), get_settings()))

    async def one_chat(chat: int) -> None:
        for i in range(per_chat):
            await bot.send_message(chat, f"m{i}")

    try:
        await asyncio.gather(*(one_chat(chat) for chat in chats))
    finally:
        await bot.session.close()


def _rates(monkeypatch: pytest.MonkeyPatch, **rates: str) -> None:
    for name, value in rates.items():
        monkeypatch.setenv(f"TELEGRAM_{name.upper()}", value)
    get_settings.cache_clear()


async def test_replies_are_paced_by_the_shared_limiter(
    bot_env: object,  # noqa: F811
    fake: FakeBotApiThread,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ours: 5 a second per chat (paced 220 ms apart). The fake refuses two within 100 ms,
    # which unpaced sends over loopback always are: 120 ms of room for a loaded machine.
    _rates(monkeypatch, chat_rate="5")
    monkeypatch.setattr(fake.state, "chat_limit", SlidingWindow(1, 0.1))
    started = time.monotonic()
    await _send(fake.url, [901], per_chat=5)
    assert time.monotonic() - started >= 4 * 0.2
    assert [c["text"] for c in fake.sent()] == [f"m{i}" for i in range(5)]
    assert fake.state.limited == 0


async def test_any_second_holds_at_most_30_messages(
    bot_env: object,  # noqa: F811
    fake: FakeBotApiThread,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Telegram's own numbers: 30 a second overall. 70 chats at once, each one message.

    Ours is 20 a second (paced at 18): a loaded machine delays some sends more than the
    ones after them, and the fake counts arrivals, so 12 messages are left as room."""
    _rates(monkeypatch, global_rate="20", chat_rate="1")
    monkeypatch.setattr(fake.state, "global_limit", SlidingWindow(30))
    monkeypatch.setattr(fake.state, "chat_limit", SlidingWindow(1))
    limited = fake.state.limited
    await _send(fake.url, list(range(5000, 5070)))
    assert len(fake.sent()) == 70
    assert fake.state.limited == limited  # not one 429


async def test_a_group_is_paced_by_its_own_window(
    bot_env: object,  # noqa: F811
    fake: FakeBotApiThread,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Telegram's 20 a minute per group, scaled down in time: 20 in any 2 s."""
    _rates(monkeypatch, group_rate_per_min="600")
    monkeypatch.setattr(fake.state, "group_limit", SlidingWindow(20, 2.0))
    limited = fake.state.limited
    await _send(fake.url, [-100777], per_chat=26)
    assert len(fake.sent()) == 26
    assert fake.state.limited == limited


async def test_a_short_retry_after_is_waited_out(
    bot_env: object,  # noqa: F811
    fake: FakeBotApiThread,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Our limiter lets everything through; the fake still says 429 to the second message.
    monkeypatch.setattr(fake.state, "chat_limit", SlidingWindow(1))
    limited = fake.state.limited
    await _send(fake.url, [902], per_chat=2)
    # The fake records refused calls too: m1 was refused once, then delivered.
    assert [c["text"] for c in fake.sent()] == ["m0", "m1", "m1"]
    assert fake.state.limited == limited + 1
