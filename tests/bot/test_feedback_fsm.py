"""/feedback as an aiogram FSM conversation in the real Redis: the state carries a TTL,
its keys name the bot, and an expired conversation relays nothing."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot
from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy import select

from bot.factory import create_dispatcher
from bot.fsm import STATE_TTL_S, make_storage
from pipeline.deps import Deps
from schema import FeedbackMessage
from tests.bot.harness import BOT_ID, OPERATORS, BotHarness, HttpxSession, message
from tests.support.services import TestServices

pytestmark = pytest.mark.asyncio
ANN = 811


def photo(update_id: int, chat: int, caption: str) -> dict[str, object]:
    size = {"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}
    return message(update_id, chat, "", caption=caption, photo=[size])


async def test_the_conversation_lives_in_redis_with_a_ttl(harness: BotHarness) -> None:
    await harness.feed(message(1, ANN, "/feedback", "ru"))
    assert harness.api.texts(ANN) == ["Напишите сообщение — я передам его операторам."]
    key = f"{harness.prefix}:{BOT_ID}:{ANN}:{ANN}:state"  # prefix, bot, chat, user
    redis = harness.storage.redis
    assert await redis.get(key) == b"Feedback:message"
    assert 0 < await redis.ttl(key) <= STATE_TTL_S
    await harness.feed(message(2, ANN, "Где мой заказ?", "ru"))
    relayed = harness.api.texts(OPERATORS)
    assert len(relayed) == 1 and "Где мой заказ?" in relayed[0]
    assert harness.api.texts(ANN)[-1] == "Отправлено. Операторы ответят здесь."
    assert await redis.exists(key) == 0  # one message per /feedback
    with harness.db() as session:
        assert session.scalars(select(FeedbackMessage.text)).all() == ["Где мой заказ?"]


async def test_a_command_while_waiting_is_a_command(harness: BotHarness) -> None:
    await harness.feed(message(1, ANN, "/feedback"), message(2, ANN, "/help"))
    assert harness.api.texts(OPERATORS) == []
    assert "/catalog" in harness.api.texts(ANN)[-1]
    await harness.feed(photo(3, ANN, "a broken mug"))  # still waiting: relayed
    assert len(harness.api.texts(OPERATORS)) == 1


async def test_an_expired_conversation_relays_nothing(
    harness: BotHarness, services: TestServices
) -> None:
    storage = make_storage(prefix=harness.prefix + "-short", url=services.redis_client_url, ttl_s=1)
    assert isinstance(storage, RedisStorage)
    dp = create_dispatcher(harness.db, None, storage, deps=Deps.build())
    try:
        await harness.feed(message(1, ANN, "/feedback"), dp=dp)
        await asyncio.sleep(2.5)  # Redis expires the key at 1 s
        await harness.feed(photo(2, ANN, "too late"), dp=dp)
    finally:
        await storage.close()
    assert harness.api.texts(OPERATORS) == []
    assert len(harness.api.texts(ANN)) == 1  # only the prompt


async def test_bots_sharing_a_redis_keep_their_own_conversations(harness: BotHarness) -> None:
    await harness.feed(message(1, ANN, "/feedback"))
    other = Bot("999:another-shop", session=HttpxSession())
    try:
        await harness.feed(photo(2, ANN, "for the other shop?"), bot=other)
    finally:
        await other.session.close()
    assert harness.api.texts(OPERATORS) == []  # the other bot has no conversation here
    keys = [k.decode() async for k in harness.storage.redis.scan_iter(f"{harness.prefix}:*")]
    assert keys == [f"{harness.prefix}:{BOT_ID}:{ANN}:{ANN}:state"]
