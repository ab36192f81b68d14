"""A Redis client on the environment's REDIS_URL, as a process's runtime builds one."""

from __future__ import annotations

import redis

from pipeline.redis_client import connect_redis
from pipeline.settings import get_settings


def env_redis() -> redis.Redis:
    return connect_redis(get_settings())
