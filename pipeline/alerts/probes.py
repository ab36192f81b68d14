"""Cheap signals the alert job reads: signature rejections per provider and worker
heartbeats in Redis (queue depth and age: adapters.broker.queue_stats).

The receiver only ever calls `count_rejection`, and only on a rejected request, so the
success path stays free of I/O.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

import redis
import redis.asyncio as aioredis

from pipeline.messaging.urls import is_amqp, redis_py_url
from pipeline.settings import Settings


def key_prefix() -> str:
    return os.environ.get("QUEUE_PREFIX", "") + "pipeline:"


def redis_url(settings: Settings) -> str | None:
    """REDIS_URL, or the broker when it is Redis; in redis-py form."""
    url = settings.redis_url or (
        settings.broker_url if settings.broker_url and not is_amqp(settings.broker_url) else None
    )
    if not url:
        return None
    return redis_py_url(url) if url.startswith("redis+socket") else url


def sync_client(settings: Settings) -> redis.Redis | None:
    url = redis_url(settings)
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) if url else None


def async_client(settings: Settings) -> aioredis.Redis | None:
    url = redis_url(settings)
    return aioredis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1) if url else None


# --- signature rejections ------------------------------------------------------------


def _signature_key(provider: str, bucket: int) -> str:
    return f"{key_prefix()}sigfail:{provider}:{bucket}"


async def count_rejection(client: aioredis.Redis, provider: str, window_s: int) -> None:
    key = _signature_key(provider, int(time.time() // window_s))
    async with client.pipeline(transaction=False) as pipe:
        pipe.incr(key)
        pipe.expire(key, window_s * 3)
        await pipe.execute()


def rejections(client: redis.Redis, window_s: int, now: float | None = None) -> dict[str, int]:
    """Rejections per provider over the current and the previous window."""
    bucket = int((now or time.time()) // window_s)
    counts: dict[str, int] = {}
    for raw in client.scan_iter(match=f"{key_prefix()}sigfail:*", count=500):
        key = raw.decode() if isinstance(raw, bytes) else str(raw)
        provider, _, key_bucket = key[len(key_prefix()) + len("sigfail:") :].rpartition(":")
        if key_bucket.isdigit() and int(key_bucket) in (bucket, bucket - 1):
            counts[provider] = counts.get(provider, 0) + int(client.get(key) or 0)
    return counts


# --- worker heartbeats ---------------------------------------------------------------


def beat_heart(client: redis.Redis, ttl_s: float, hostname: str | None = None) -> None:
    name = hostname or f"{socket.gethostname()}:{os.getpid()}"
    client.set(f"{key_prefix()}heartbeat:{name}", str(time.time()), ex=max(1, int(ttl_s)))


def beat_alive(client: redis.Redis, ttl_s: float) -> None:
    """Beat says it is scheduling (one beat per deployment, so one key)."""
    client.set(f"{key_prefix()}beat-heartbeat", str(time.time()), ex=max(1, int(ttl_s)))


def last_beat(client: redis.Redis) -> float | None:
    value = client.get(f"{key_prefix()}beat-heartbeat")
    return None if value is None else float(value)


def last_heartbeat(client: redis.Redis) -> float | None:
    """Unix time of the freshest worker heartbeat, None when no worker is alive."""
    newest: float | None = None
    for key in client.scan_iter(match=f"{key_prefix()}heartbeat:*", count=500):
        value = client.get(key)
        if value is not None:
            stamp = float(value)
            newest = stamp if newest is None else max(newest, stamp)
    return newest


# --- queues --------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueStats:
    queue: str
    depth: int
    oldest_age_s: float | None  # None: empty, or unknown (RabbitMQ cannot peek)
