"""One Redis pub/sub subscription per API process, fanned out to the connected clients.

Every publication is filtered and encoded once per distinct filter, not per client, and
each client gets the encoded text. Publications that piled up while the process was busy
are read together and go out as one message per client (events of several commits in one
`events` batch), so a backlog costs one round of socket writes, not one per publication.
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
from redis.asyncio.client import PubSub

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


ITEMS_AT = ',"items":['
# Publications read in one go at most (a bound on one message's size after a backlog).
DRAIN_MAX = 100


def wire(topic: Topic, items: Sequence[dict[str, Any]]) -> str:
    """The client message for a batch: `{"type": "events", "cursor": N, "items": [...]}`
    (cursor: the batch's last), or `{"type": "broadcasts", "items": [...]}` and so on."""
    body = orjson.dumps(list(items)).decode()
    if topic is Topic.EVENTS:
        return f'{{"type":"events","cursor":{int(items[-1]["cursor"])}{ITEMS_AT}{body[1:]}}}'
    return f'{{"type":"{topic.value}"{ITEMS_AT}{body[1:]}}}'


def merge_events(encoded: Sequence[str], cursor: int) -> str:
    """Several `wire(Topic.EVENTS, …)` messages as one, by joining their item lists as
    text: a client that fell behind gets one message without anything encoded again."""
    parts = ",".join(text[text.index(ITEMS_AT) + len(ITEMS_AT) : -2] for text in encoded)
    return f'{{"type":"events","cursor":{cursor}{ITEMS_AT}{parts}]}}'


Publication = tuple[Topic, list[dict[str, Any]]]


def merged(publications: Sequence[Publication]) -> list[Publication]:
    """Consecutive publications of one topic as one (order kept: cursors ascend)."""
    runs: list[Publication] = []
    for topic, items in publications:
        if runs and runs[-1][0] is topic:
            runs[-1][1].extend(items)
        else:
            runs.append((topic, list(items)))
    return runs


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
    def __init__(
        self, redis_url: str, channel: str, *, queue_size: int = 1000, flush_s: float = 0.0
    ) -> None:
        self.redis_url = redis_url
        self.channel = channel
        self.queue_size = queue_size
        # At most one fan-out per `flush_s`: what is published sooner after the last one
        # waits for the rest of that time and goes out with it (fewer socket writes).
        self.flush_s = flush_s
        self._flushed_at = 0.0
        self.subscribers: set[Subscriber] = set()
        # Re-checks of open connections' credentials, shared per credential (api.live.connection).
        self.credential_checks: dict[str, Any] = {}
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

    async def _gather(self, pubsub: PubSub, first: dict[str, Any]) -> list[dict[str, Any]]:
        """`first` and whatever else has arrived, or arrives until `flush_s` after the
        last fan-out."""
        loop = asyncio.get_running_loop()
        until = self._flushed_at + self.flush_s
        messages = [first]
        while len(messages) < DRAIN_MAX:
            more = await pubsub.get_message(timeout=max(0.0, until - loop.time()))
            if more is not None:
                messages.append(more)
            elif loop.time() >= until:
                break
        self._flushed_at = loop.time()
        return messages

    def _dispatch(self, messages: list[dict[str, Any]]) -> None:
        publications = [
            decoded
            for message in messages
            if message.get("type") == "message" and (decoded := decode(message["data"])) is not None
        ]
        for topic, items in merged(publications):
            self.fan_out(topic, items)

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
                        if message.get("type") == "message":  # not a (un)subscribe reply
                            self._dispatch(await self._gather(pubsub, message))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.subscribed.clear()
                logger.warning("live subscription lost, again in {:.1f} s: {}", delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                await client.aclose()
