"""The Redis client for caches, locks and rate limits (REDIS_URL): each process's runtime
builds one (`Deps.redis`) and passes it down."""

from __future__ import annotations

import redis
from sqlalchemy.orm import Session

from pipeline.messaging.urls import redis_py_url
from pipeline.settings import Settings
from pipeline.unit_of_work import session_deps


def redis_url(settings: Settings) -> str:
    url = settings.redis_url or settings.broker_url or ""
    if url.startswith("redis+socket://"):
        url = redis_py_url(url)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise RuntimeError("REDIS_URL must point at Redis (caches, locks, rate limits)")
    return url


def connect_redis(settings: Settings, *, timeout_s: float = 5.0) -> redis.Redis:
    """A client of a runtime's own (it connects at its first command); RuntimeError when
    REDIS_URL is not Redis."""
    return redis.Redis.from_url(
        redis_url(settings), socket_timeout=timeout_s, socket_connect_timeout=timeout_s
    )


def session_redis(session: Session) -> redis.Redis:
    """The Redis client for a session's commit hooks: its unit of work's (the process's).
    RuntimeError for a session committed outside one (no process client to publish on):
    the hooks log it and publish nothing, rather than connect from the environment."""
    deps = session_deps(session)
    if deps is None:
        raise RuntimeError("session committed outside a unit of work: nothing published")
    return deps.redis
