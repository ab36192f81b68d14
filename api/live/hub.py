"""One Redis pub/sub subscription per API process, fanned out to the connected clients.

Each client has a bounded queue. Offering to it never waits: a client whose queue is full
is marked overflowed (its connection closes it with 4008) and the others go on. When the
Redis subscription breaks and comes back, every client is told to resync: it catches up
from the database by its last cursor, so nothing published meanwhile is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis.asyncio as aioredis
from loguru import logger

from pipeline.live.channel import Topic, decode

RESYNC = "resync"  # a queue entry telling the connection to catch up from the database


@dataclass(frozen=True)
class Filters:
    topics: frozenset[Topic]
    sources: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    # Order changes of this bot user only (a buyer's Mini App); None: every user's.
    user_id: int | None = None

    def wants(self, topic: Topic, item: dict[str, Any]) -> bool:
        if topic not in self.topics:
            return False
        if topic is Topic.EVENTS:
            if self.sources and item.get("source") not in self.sources:
                return False
            if self.statuses and item.get("status") not in self.statuses:
                return False
        if topic is Topic.ORDERS and self.user_id is not None:
            return item.get("user_id") == self.user_id
        return True


# (topic, items, the message already encoded for the wire; "" for RESYNC)
Entry = tuple[Topic | str, list[dict[str, Any]], str]


def wire(topic: Topic, items: Sequence[dict[str, Any]]) -> str:
    """The client message for a batch: `{"type": "events", "cursor": N, "items": [...]}`
    (cursor: the batch's last), or `{"type": "broadcasts", "items": [...]}` and so on."""
    message: dict[str, Any] = {"type": topic.value}
    if topic is Topic.EVENTS:
        message["cursor"] = items[-1]["cursor"]
    message["items"] = list(items)
    return orjson.dumps(message).decode()


@dataclass(eq=False)
class Subscriber:
    filters: Filters
    queue: asyncio.Queue[Entry]
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, topic: Topic | str, items: list[dict[str, Any]], encoded: str) -> None:
        if self.overflowed.is_set():
            return
        try:
            self.queue.put_nowait((topic, items, encoded))
        except asyncio.QueueFull:
            self.overflowed.set()


class Hub:
    def __init__(self, redis_url: str, channel: str, *, queue_size: int = 1000) -> None:
        self.redis_url = redis_url
        self.channel = channel
        self.queue_size = queue_size
        self.subscribers: set[Subscriber] = set()
        self.subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, filters: Filters) -> Subscriber:
        subscriber = Subscriber(filters, asyncio.Queue(self.queue_size))
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def fan_out(self, topic: Topic, items: Sequence[dict[str, Any]]) -> None:
        """Each published batch goes out as one message per client, encoded once per
        distinct filter (most clients share one), so 500 clients cost 500 socket writes."""
        encoded: dict[Filters, tuple[list[dict[str, Any]], str]] = {}
        for subscriber in list(self.subscribers):
            filters = subscriber.filters
            if filters not in encoded:
                wanted = [item for item in items if filters.wants(topic, item)]
                encoded[filters] = (wanted, wire(topic, wanted) if wanted else "")
            wanted, text = encoded[filters]
            if wanted:
                subscriber.offer(topic, wanted, text)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="live-hub")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), 5)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        delay = 0.2
        first = True
        while True:
            client = aioredis.Redis.from_url(self.redis_url)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.subscribed.set()
                    if not first:  # whatever was published while we were away
                        for subscriber in list(self.subscribers):
                            subscriber.offer(RESYNC, [], "")
                    first, delay = False, 0.2
                    async for message in pubsub.listen():
                        if message.get("type") != "message":
                            continue
                        decoded = decode(message["data"])
                        if decoded is not None:
                            self.fan_out(*decoded)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.subscribed.clear()
                logger.warning("live subscription lost, again in {:.1f} s: {}", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                await client.aclose()
