"""A Redis client on the environment's REDIS_URL, as a process's runtime builds one, and
a `Deps` holding it (what live announcements publish through)."""

from __future__ import annotations

import redis

from pipeline.deps import Deps
from pipeline.redis_client import connect_redis
from pipeline.settings import get_settings


def env_redis() -> redis.Redis:
    return connect_redis(get_settings())


def env_deps() -> Deps:
    """The environment's settings (read now) with a client of `env_redis`."""
    return Deps(get_settings(), redis=env_redis())
