"""The hub on its own Redis: when the subscription breaks and comes back, every client is
told to resync (catch up from the database), and live messages flow again; publications
that piled up go out together."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
import redis.asyncio

from api.live.hub import RESYNC, Entry, Filters, Hub, merge_events, merged, wire
from pipeline.embedded import EmbeddedRedis
from pipeline.live.channel import Topic, encode
from pipeline.messaging.urls import redis_py_url


@pytest.mark.asyncio
async def test_a_lost_subscription_resyncs_every_client(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    url = server.client_url(0)
    try:
        hub = Hub(url, "live-test")
        await hub.start()
        subscriber = hub.subscribe(Filters(frozenset({Topic.EVENTS})))
        try:
            await asyncio.to_thread(server.stop)
            await asyncio.sleep(0.5)
            await asyncio.to_thread(server.start)
            await asyncio.wait_for(_subscribed_again(hub), 15)
            first = await asyncio.wait_for(subscriber.queue.get(), 5)
            item = {"id": 1, "cursor": 7, "source": "stripe", "status": "processed"}
            await asyncio.to_thread(
                redis.Redis.from_url(url).publish, "live-test", encode(Topic.EVENTS, [item])
            )
            second = await asyncio.wait_for(subscriber.queue.get(), 5)
        finally:
            await hub.stop()
    finally:
        await asyncio.to_thread(server.stop)
    assert first[0] == RESYNC
    assert second[0] is Topic.EVENTS and second[1] == [
        {"id": 1, "cursor": 7, "source": "stripe", "status": "processed"}
    ]


async def _subscribed_again(hub: Hub) -> None:
    while not hub.subscribed.is_set():
        await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_publications_that_piled_up_reach_a_client_as_one_message(
    live_redis: str,
) -> None:
    """While the process is busy, three commits are published; the hub reads them together
    and the client gets one `events` message with every item, encoded once."""
    url = redis_py_url(live_redis)
    batches = [
        [{"id": n, "cursor": n, "source": "stripe", "status": "processed"} for n in (k, k + 1)]
        for k in (1, 3, 5)
    ]

    async def scenario() -> tuple[Entry, int]:
        hub = Hub(url, "live-drain")
        await hub.start()
        subscriber = hub.subscribe(Filters(frozenset({Topic.EVENTS})))
        publisher = redis.Redis.from_url(url)
        try:
            for items in batches:  # the loop is blocked: nothing is read meanwhile
                publisher.publish("live-drain", encode(Topic.EVENTS, items))
            time.sleep(0.5)  # still blocked while Redis writes the last to the hub's socket
            entry = await asyncio.wait_for(subscriber.queue.get(), 5)
            return entry, subscriber.queue.qsize()
        finally:
            publisher.close()
            await hub.stop()

    (topic, items, encoded), left = await scenario()
    everything = [item for batch in batches for item in batch]
    assert topic is Topic.EVENTS and items == everything and left == 0
    assert orjson.loads(encoded) == {"type": "events", "cursor": 6, "items": everything}


def test_event_messages_join_as_text_like_one_encoded_batch() -> None:
    first = [{"id": 1, "cursor": 1, "last_error": 'a "quoted" ], error'}]
    second: list[dict[str, Any]] = [
        {"id": 2, "cursor": 2, "last_error": None},
        {"id": 3, "cursor": 3},
    ]
    joined = merge_events([wire(Topic.EVENTS, first), wire(Topic.EVENTS, second)], 3)
    assert joined == wire(Topic.EVENTS, first + second)
    alerts = [{"id": 9}]
    assert merged([(Topic.EVENTS, first), (Topic.EVENTS, second), (Topic.ALERTS, alerts)]) == [
        (Topic.EVENTS, first + second),
        (Topic.ALERTS, alerts),
    ]
    assert orjson.loads(wire(Topic.ALERTS, alerts)) == {"type": "alerts", "items": alerts}


@pytest.mark.asyncio
async def test_changes_published_within_the_flush_interval_go_out_together(
    live_redis: str,
) -> None:
    url = redis_py_url(live_redis)

    async def scenario() -> list[list[int]]:
        hub = Hub(url, "live-flush", flush_s=1.0)
        await hub.start()
        subscriber = hub.subscribe(Filters(frozenset({Topic.EVENTS})))
        publisher = redis.asyncio.Redis.from_url(url)
        received = []
        try:
            for cursor in (1, 2, 3):  # the first goes out at once, the others wait for it
                item = {"id": cursor, "cursor": cursor, "source": "stripe", "status": "done"}
                await publisher.publish("live-flush", encode(Topic.EVENTS, [item]))
                await asyncio.sleep(0.05)
            for _ in range(2):
                _, items, _ = await asyncio.wait_for(subscriber.queue.get(), 10)
                received.append([item["cursor"] for item in items])
            return received
        finally:
            await publisher.aclose()
            await hub.stop()

    assert await scenario() == [[1], [2, 3]]
