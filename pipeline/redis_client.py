"""One Redis client per process for caches, locks and rate limits (REDIS_URL)."""

from __future__ import annotations

import os

import redis

from pipeline.messaging.urls import redis_py_url
from pipeline.settings import Settings, get_settings

_clients: dict[tuple[int, str], redis.Redis] = {}


def redis_url(settings: Settings | None = None) -> str:
    settings = settings or get_settings()
    url = settings.redis_url or settings.broker_url or ""
    if url.startswith("redis+socket://"):
        url = redis_py_url(url)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise RuntimeError("REDIS_URL must point at Redis (caches, locks, rate limits)")
    return url


def redis_client() -> redis.Redis:
    url = redis_url()
    key = (os.getpid(), url)
    if key not in _clients:
        _clients[key] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    return _clients[key]


def connect_redis(settings: Settings, *, timeout_s: float = 5.0) -> redis.Redis:
    """A client of a runtime's own (it connects at its first command); RuntimeError when
    REDIS_URL is not Redis."""
    return redis.Redis.from_url(
        redis_url(settings), socket_timeout=timeout_s, socket_connect_timeout=timeout_s
    )
