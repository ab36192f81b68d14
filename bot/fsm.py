"""Conversation state (aiogram FSM) in Redis, shared by every worker that may handle a
chat's next update; a conversation left unfinished expires instead of lingering."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from loguru import logger
from redis.asyncio import Redis

from pipeline.redis_client import redis_url
from pipeline.settings import Settings

# How long /feedback waits for the message to relay.
STATE_TTL_S = 600
KEY_PREFIX = "fsm"


class Feedback(StatesGroup):
    message = State()  # the next message goes to the operators


def storage_for(settings: Settings) -> BaseStorage:
    """On the process's REDIS_URL; without Redis (a single local process) state lives in
    memory."""
    try:
        url = redis_url(settings)
    except RuntimeError:
        logger.warning("no REDIS_URL: the bot keeps conversation state in memory")
        return MemoryStorage()
    return make_storage(url=url)


def make_storage(*, url: str, prefix: str = KEY_PREFIX, ttl_s: int = STATE_TTL_S) -> BaseStorage:
    """Keys are `<prefix>:<bot id>:<chat>:<user>:state|data`: bots sharing a Redis never
    read each other's conversations."""
    return RedisStorage(
        Redis.from_url(url),
        key_builder=DefaultKeyBuilder(prefix=prefix, with_bot_id=True),
        state_ttl=ttl_s,
        data_ttl=ttl_s,
    )
