"""Cheap signals the alert job reads: signature rejections per provider and worker
heartbeats in Redis, queue depth and age in the broker.

The receiver only ever calls `count_rejection`, and only on a rejected request, so the
success path stays free of I/O.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from typing import Any

import orjson
import redis
import redis.asyncio as aioredis
from kombu import Connection

from pipeline.messaging.publisher import is_amqp
from pipeline.messaging.queues import ALL_QUEUES, kombu_queue, queue_name
from pipeline.messaging.redis_sender import redis_py_url
from pipeline.settings import Settings


def _prefix() -> str:
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
    return f"{_prefix()}sigfail:{provider}:{bucket}"


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
    for raw in client.scan_iter(match=f"{_prefix()}sigfail:*", count=500):
        key = raw.decode() if isinstance(raw, bytes) else str(raw)
        provider, _, key_bucket = key[len(_prefix()) + len("sigfail:") :].rpartition(":")
        if key_bucket.isdigit() and int(key_bucket) in (bucket, bucket - 1):
            counts[provider] = counts.get(provider, 0) + int(client.get(key) or 0)
    return counts


# --- worker heartbeats ---------------------------------------------------------------


def beat_heart(client: redis.Redis, ttl_s: float, hostname: str | None = None) -> None:
    name = hostname or f"{socket.gethostname()}:{os.getpid()}"
    client.set(f"{_prefix()}heartbeat:{name}", str(time.time()), ex=max(1, int(ttl_s)))


def beat_alive(client: redis.Redis, ttl_s: float) -> None:
    """Beat says it is scheduling (one beat per deployment, so one key)."""
    client.set(f"{_prefix()}beat-heartbeat", str(time.time()), ex=max(1, int(ttl_s)))


def last_beat(client: redis.Redis) -> float | None:
    value = client.get(f"{_prefix()}beat-heartbeat")
    return None if value is None else float(value)


def last_heartbeat(client: redis.Redis) -> float | None:
    """Unix time of the freshest worker heartbeat, None when no worker is alive."""
    newest: float | None = None
    for key in client.scan_iter(match=f"{_prefix()}heartbeat:*", count=500):
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


def _received_at(document: bytes) -> float | None:
    """The receive time inside an ingest message (a list of envelopes), if it is one."""
    try:
        import base64

        message = orjson.loads(document)
        body = orjson.loads(base64.b64decode(message["body"]))
        args: list[Any] = body[0]
        first = args[0][0] if args and isinstance(args[0], list) else None
        return float(first["received_at"]) if isinstance(first, dict) else None
    except (ValueError, KeyError, IndexError, TypeError):
        return None


def queue_stats(
    broker_url: str, state: redis.Redis | None, now: float | None = None
) -> list[QueueStats]:
    """Depth of every queue and the age of its oldest message.

    Redis: LLEN, and the oldest item (LINDEX -1: consumers pop from the right). Its age is
    the envelope's receive time for ingest messages; for other tasks, how long that same
    message has been at the head (remembered in `state` between runs).
    """
    now = now or time.time()
    if is_amqp(broker_url):
        stats = []
        with Connection(broker_url, connect_timeout=2) as conn:
            for base in ALL_QUEUES:
                bound = kombu_queue(base)(conn.default_channel)
                _, depth, _ = bound.queue_declare()
                stats.append(QueueStats(queue_name(base), int(depth), None))
        return stats
    client = redis.Redis.from_url(redis_py_url(broker_url), socket_timeout=2)
    try:
        return [_redis_queue(client, queue_name(base), state, now) for base in ALL_QUEUES]
    finally:
        client.close()


def _redis_queue(
    client: redis.Redis, name: str, state: redis.Redis | None, now: float
) -> QueueStats:
    depth = int(client.llen(name))
    if depth == 0:
        return QueueStats(name, 0, None)
    oldest = client.lindex(name, -1)
    if not isinstance(oldest, bytes):
        return QueueStats(name, depth, None)
    received = _received_at(oldest)
    if received is not None:
        return QueueStats(name, depth, max(0.0, now - received))
    if state is None:
        return QueueStats(name, depth, None)
    tag = orjson.loads(oldest).get("properties", {}).get("delivery_tag", "")
    key = f"{_prefix()}queue-head:{name}"
    seen = state.hget(key, tag)
    if seen is None:
        state.delete(key)
        state.hset(key, tag, str(now))
        state.expire(key, 86400)
        return QueueStats(name, depth, 0.0)
    return QueueStats(name, depth, max(0.0, now - float(seen)))
