"""Publishing task messages to the broker, bounded in time.

`BrokerPublisher` is the synchronous, kombu-based sender of ready-made messages (Redis
and RabbitMQ alike, with publisher confirms on RabbitMQ): the pipelined batches of the
task port's `send_many` on Redis, and the health check's ping. Tasks by name go through
the port (adapters.broker.task_sender). `make_sender` gives the receiver and the gRPC API
an asyncio sender for their `BatchingPublisher`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis
from kombu import Connection, Producer
from loguru import logger

from adapters.broker import reliable_redis
from adapters.broker.amqp_sender import AmqpSender
from adapters.broker.batching import AsyncSender
from adapters.broker.celery_message import TaskMessage
from adapters.broker.declarations import kombu_queue
from adapters.broker.redis_sender import RedisSender, kombu_document
from pipeline.messaging.queues import queue_name
from pipeline.messaging.urls import is_amqp, redis_py_url

RESTORE_EVERY_S = 5
RESTORE_MUTEX_EXPIRE_S = 30


def transport_options(url: str, *, timeout: float, visibility_timeout: int) -> dict[str, Any]:
    if is_amqp(url):
        return {"confirm_publish": True, "confirm_timeout": timeout}
    return {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "max_retries": 1,
        **redis_delivery_options(visibility_timeout),
    }


def redis_delivery_options(visibility_timeout: int) -> dict[str, Any]:
    """How a Redis broker gives back the messages of a worker that died.

    kombu keeps every delivered, unacknowledged message in a hash and a sorted set
    (delivery time); a consuming worker puts back those older than the visibility
    timeout. Live workers renew the time of the messages they hold (workers.lease), so
    the timeout only has to cover a dead worker's silence, not the longest task.
    """
    prefix = queue_name("")
    return {
        "visibility_timeout": visibility_timeout,
        # Look every few seconds, every time: kombu's default (10 s x a throttle of 10)
        # would add up to 100 s to the timeout.
        "unacked_restore_interval": RESTORE_EVERY_S,
        "unacked_restore_throttle": 1,
        # A worker killed while restoring leaves the mutex behind; it must not block
        # restores for kombu's default 5 minutes.
        "unacked_mutex_expire": RESTORE_MUTEX_EXPIRE_S,
        # Pipelines sharing a Redis (QUEUE_PREFIX) keep their own books.
        "unacked_key": f"{prefix}unacked",
        "unacked_index_key": f"{prefix}unacked_index",
        "unacked_mutex_key": f"{prefix}unacked_mutex",
    }


class BrokerPublisher:
    """One kombu connection, reused; every publish retried a bounded number of times."""

    def __init__(self, url: str, *, timeout: float = 1.0, max_retries: int = 1) -> None:
        self.url = url
        self.timeout = timeout
        self.max_retries = max_retries
        self._conn = self._connect()
        self._producer: Producer | None = None
        self._redis: redis.Redis | None = None

    def _connect(self) -> Connection:
        reliable_redis.install()  # publishes ring the consumers' doorbells
        options = transport_options(self.url, timeout=self.timeout, visibility_timeout=3600)
        return Connection(
            self.url, connect_timeout=self.timeout, transport_options=options, heartbeat=0
        )

    def publish(self, message: TaskMessage) -> None:
        if self._producer is None:
            self._producer = Producer(self._conn)
        target = kombu_queue(message.queue)
        self._producer.publish(
            message.body,
            exchange=target.exchange,
            routing_key=target.routing_key,
            declare=[target],
            content_type="application/json",
            content_encoding="utf-8",
            headers=message.headers,
            correlation_id=message.task_id,
            delivery_mode=2,
            retry=True,
            retry_policy={
                "max_retries": self.max_retries,
                "interval_start": 0,
                "interval_step": 0.2,
                "interval_max": 0.5,
            },
        )

    def publish_many(self, messages: Sequence[TaskMessage]) -> None:
        """Several messages. On Redis in one pipelined round trip, each written as kombu
        writes it, doorbell included (see redis_sender); on RabbitMQ one confirmed
        publish each."""
        if len(messages) < 2 or is_amqp(self.url):
            for message in messages:
                self.publish(message)
            return
        if self._redis is None:
            self._redis = redis.Redis.from_url(
                redis_py_url(self.url),
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
            )
        with self._redis.pipeline(transaction=False) as pipe:
            for message in messages:
                queue = kombu_queue(message.queue).name
                pipe.lpush(queue, kombu_document(message))
                for command, *args in reliable_redis.ring_commands(queue):
                    getattr(pipe, command)(*args)
            pipe.execute()

    def ping(self) -> None:
        conn = self._connect()
        try:
            conn.ensure_connection(max_retries=1, timeout=self.timeout)
        finally:
            conn.release()

    def reset(self) -> None:
        """Drop the connection after a failure, so the next publish starts clean."""
        try:
            self._conn.release()
        except Exception as exc:  # already broken; nothing else to do with it
            logger.debug("closing broken broker connection: {}", exc)
        self._conn = self._connect()
        self._producer = None
        if self._redis is not None:
            self._redis.close()
            self._redis = None

    def close(self) -> None:
        self._conn.release()
        if self._redis is not None:
            self._redis.close()


def make_sender(url: str, *, timeout: float = 1.0) -> AsyncSender:
    """An asyncio sender for the broker, on the event loop: Redis, or RabbitMQ (AMQP).
    A kombu publisher in a thread measured 0.48-0.59 of the no-op endpoint on RabbitMQ
    (median 0.54) against 0.57-0.71 (median 0.60) for the aiormq one (bench_receiver,
    alternating runs): its GIL-holding frame encoding competes with the event loop."""
    scheme = url.split("://", 1)[0]
    if scheme in {"redis", "rediss", "redis+socket"}:
        return RedisSender(url, timeout=timeout)
    return AmqpSender(url, timeout=timeout)
