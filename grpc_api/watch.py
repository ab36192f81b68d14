"""WatchEvents: status changes from a cursor, with no gap and no repeat.

The stream subscribes to the live channel first, then reads the changes after the
client's cursor from the database, then relays live messages, skipping any at or below
the last cursor sent. `pipeline.live.events` hands out cursors, makes them visible and
publishes them in the same order, so a change is either in the catch-up read or
published after the subscription (or both; the cursor check drops the repeat).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy.orm import Session, sessionmaker

from grpc_api.convert import change_message
from grpc_api.v1 import pipeline_pb2 as pb
from pipeline.live.channel import Topic, decode
from pipeline.live.events import BATCH, changes_since, latest_cursor


class SubscriptionLost(Exception):
    """The live channel broke: the client resumes from its last cursor."""


class Watch:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        redis_url: str,
        channel: str,
        request: pb.WatchEventsRequest,
    ) -> None:
        self.sessions = sessions
        self.redis_url = redis_url
        self.channel = channel  # the live channel's name (`channel_name` of the settings)
        self.sources = frozenset(request.sources)
        self.statuses = frozenset(request.statuses)
        self.start = request.cursor if request.HasField("cursor") else None
        self.last = 0

    def _wanted(self, item: dict[str, Any]) -> bool:
        return (not self.sources or item.get("source") in self.sources) and (
            not self.statuses or item.get("status") in self.statuses
        )

    def _read(self, cursor: int) -> list[dict[str, Any]]:
        with self.sessions() as session:
            return changes_since(
                session, cursor, sources=list(self.sources), statuses=list(self.statuses)
            )

    def _latest(self) -> int:
        with self.sessions() as session:
            return latest_cursor(session)

    def _fresh(self, items: list[dict[str, Any]]) -> list[pb.EventChange]:
        out = []
        for item in sorted(items, key=lambda i: int(i["cursor"])):
            if item["cursor"] > self.last and self._wanted(item):
                out.append(change_message(item))
                self.last = item["cursor"]
        return out

    async def changes(self) -> AsyncIterator[pb.EventChange]:
        client = aioredis.Redis.from_url(self.redis_url)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(self.channel)
                if self.start is None:
                    self.last = await asyncio.to_thread(self._latest)
                else:
                    self.last = self.start
                while True:  # catch up, a page at a time
                    items = await asyncio.to_thread(self._read, self.last)
                    for change in self._fresh(items):
                        yield change
                    if len(items) < BATCH:
                        break
                async for change in self._live(pubsub):
                    yield change
        finally:
            await client.aclose()

    async def _live(self, pubsub: Any) -> AsyncIterator[pb.EventChange]:
        try:
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                decoded = decode(message["data"])
                if decoded is None or decoded[0] is not Topic.EVENTS:
                    continue
                for change in self._fresh(decoded[1]):
                    yield change
        except (ConnectionError, aioredis.ConnectionError, OSError) as exc:
            raise SubscriptionLost(str(exc)) from exc
