"""Publishing Celery messages to RabbitMQ from asyncio, with publisher confirms.

The same message kombu's py-amqp transport would publish (raw JSON body, Celery headers,
persistent delivery), sent on one channel in confirm mode: `publish` returns only after
the broker acknowledged the message, and raises when it nacked it or did not answer.

RabbitMQ's publish does not answer with the queue's length (Redis's LPUSH does), which
the batching publisher needs to see that the workers are behind. So every
`COUNT_EVERY_S` at most, after a confirm, the queue is declared passively, which answers
with its ready messages: one round trip per interval, not per message.
"""

from __future__ import annotations

import asyncio
import contextlib

import aiormq
from aiormq.abc import AbstractChannel, AbstractConnection
from loguru import logger
from pamqp.commands import Basic

from adapters.broker.celery_message import TaskMessage
from adapters.broker.declarations import kombu_queue

# Under the batching publisher's staleness bound (WAITING_STALE_S), so its hold keeps a
# fresh figure while messages keep coming.
COUNT_EVERY_S = 0.1


def aiormq_url(broker_url: str) -> str:
    """kombu's `amqp://…//` (vhost "/") and `pyamqp://` spellings, as aiormq reads them."""
    scheme, rest = broker_url.split("://", 1)
    scheme = {"pyamqp": "amqp", "amqp": "amqp", "amqps": "amqps"}.get(scheme, scheme)
    if rest.endswith("//"):
        rest = rest[:-2] + "/%2F"
    return f"{scheme}://{rest}"


class AmqpSender:
    def __init__(self, broker_url: str, *, timeout: float = 1.0) -> None:
        self.url = aiormq_url(broker_url)
        self.timeout = timeout
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._declared: set[str] = set()
        self._lock = asyncio.Lock()
        self._counted_at: dict[str, float] = {}  # queue -> when its length was last asked

    async def _ready(self) -> AbstractChannel:
        channel = self._channel
        if channel is not None and not channel.is_closed:
            return channel
        async with self._lock:
            if self._channel is None or self._channel.is_closed:
                await self._reset()
                self._connection = await asyncio.wait_for(aiormq.connect(self.url), self.timeout)
                self._channel = await self._connection.channel(publisher_confirms=True)
                self._declared.clear()
            return self._channel

    async def _declare(self, channel: AbstractChannel, message: TaskMessage) -> None:
        queue = kombu_queue(message.queue)
        if queue.name in self._declared:
            return
        # Same declarations as the workers' kombu queues, so neither side conflicts.
        await channel.exchange_declare(queue.exchange.name, exchange_type="direct", durable=True)
        await channel.queue_declare(queue.name, durable=True)
        await channel.queue_bind(queue.name, queue.exchange.name, routing_key=queue.routing_key)
        self._declared.add(queue.name)

    async def publish(self, message: TaskMessage) -> int | None:
        """Publish and wait for the broker's confirm; the queue's ready messages (ours
        included) when it was time to ask again, else None."""
        try:
            channel = await self._ready()
            await self._declare(channel, message)
            queue = kombu_queue(message.queue)
            confirmation = await channel.basic_publish(
                message.body,
                exchange=queue.exchange.name,
                routing_key=queue.routing_key,
                properties=Basic.Properties(
                    content_type="application/json",
                    content_encoding="utf-8",
                    headers=message.headers,
                    delivery_mode=2,
                    priority=0,
                    correlation_id=message.task_id,
                    reply_to="",
                ),
                timeout=self.timeout,
            )
        except Exception:
            await self._reset()
            raise
        if not isinstance(confirmation, Basic.Ack):
            raise ConnectionError(f"broker did not confirm the message: {confirmation!r}")
        return await self._length(channel, queue.name)

    async def _length(self, channel: AbstractChannel, queue: str) -> int | None:
        now = asyncio.get_running_loop().time()
        if now - self._counted_at.get(queue, float("-inf")) < COUNT_EVERY_S:
            return None
        self._counted_at[queue] = now
        try:
            declared = await asyncio.wait_for(
                channel.queue_declare(queue, passive=True), self.timeout
            )
        except Exception as exc:  # the message is confirmed: only the figure is missing
            logger.debug("length of {} not known: {}", queue, exc)
            return None
        return int(declared.message_count or 0)

    async def ping(self) -> None:
        await self._ready()

    async def _reset(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and not connection.is_closed:
            # Already broken, most likely; dropping it is all that is left to do.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), self.timeout)

    async def close(self) -> None:
        await self._reset()
