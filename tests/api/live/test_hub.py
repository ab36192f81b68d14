"""The hub on its own Redis: when the subscription breaks and comes back, every client is
told to resync (catch up from the database), and live messages flow again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis

from api.live.hub import RESYNC, Filters, Hub
from pipeline.embedded import EmbeddedRedis
from pipeline.live.channel import Topic, encode


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
