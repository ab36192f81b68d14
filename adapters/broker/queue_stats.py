"""Depth and age of every queue, read from the broker (the alert job's queue signal)."""

from __future__ import annotations

import time
from typing import Any

import orjson
import redis
from kombu import Connection

from adapters.broker.declarations import kombu_queue
from pipeline.alerts.probes import QueueStats, key_prefix
from pipeline.messaging.queues import ALL_QUEUES, queue_name
from pipeline.messaging.urls import is_amqp, redis_py_url


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
    key = f"{key_prefix()}queue-head:{name}"
    seen = state.hget(key, tag)
    if seen is None:
        state.delete(key)
        state.hset(key, tag, str(now))
        state.expire(key, 86400)
        return QueueStats(name, depth, 0.0)
    return QueueStats(name, depth, max(0.0, now - float(seen)))
