"""One live WebSocket connection: authenticate, subscribe, catch up, then relay live.

Order of work on connect: the client is registered with the hub first (live changes are
queued from that moment), then events after its cursor are read from the database and
sent, then the queue is relayed skipping any event at or below the last cursor sent.
Cursors are stamped and published in commit order (pipeline.live.events), so this leaves
neither a gap nor a duplicate.

The credential is checked again every `recheck_s` (30 s; the first after a random part of
it, so connections opened together do not all check at once): a logout, a revoked session
or API key, an expired token or a deactivated account closes the connection with 4401, a
role that no longer covers a topic with 4403. Connections on one API key or token share
one check per quarter period (500 sockets on one key: one database read, not 500).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from loguru import logger
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from api.live.hub import RESYNC, Entry, Filters, Hub, Subscriber, merge_events, wire
from api.live.protocol import TOPIC_SCOPES, CloseCode, Subscribe
from pipeline.live.channel import Topic

CATCH_UP_PAGE = 500

# Token -> its scopes, or None when it is not valid (called at connect and every recheck).
Authenticate = Callable[[str], Awaitable[frozenset[str] | None]]
# (cursor, filters, limit) -> changes after the cursor, oldest first.
ReadChanges = Callable[[int, Filters, int], Awaitable[list[dict[str, Any]]]]
ReadLatest = Callable[[], Awaitable[int]]


@dataclass
class LiveSettings:
    ping_interval_s: float = 20.0
    subscribe_timeout_s: float = 10.0
    # How long a close frame may wait behind what a slow client has not read yet.
    close_timeout_s: float = 10.0
    recheck_s: float = 30.0


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code=code, reason=reason)


async def serve(
    websocket: WebSocket,
    hub: Hub,
    authenticate: Authenticate,
    read_changes: ReadChanges,
    read_latest: ReadLatest,
    settings: LiveSettings,
) -> None:
    await websocket.accept()
    try:
        first = await asyncio.wait_for(websocket.receive_json(), settings.subscribe_timeout_s)
        request = Subscribe.model_validate(first)
    except WebSocketDisconnect:
        return
    except (TimeoutError, ValueError, ValidationError) as exc:
        reason = "expected a subscribe message" if isinstance(exc, TimeoutError) else str(exc)
        await _close(websocket, CloseCode.BAD_REQUEST, reason[:120])
        return
    token = websocket.query_params.get("token") or request.token
    scopes = await authenticate(token or "")  # "": the connection's cookie, if any
    if scopes is None:
        await _close(websocket, CloseCode.UNAUTHENTICATED, "a valid token or API key is needed")
        return
    denied = _denied(request.topics, scopes)
    if denied:
        await _close(websocket, CloseCode.FORBIDDEN, denied)
        return
    filters = Filters(
        frozenset(request.topics), frozenset(request.sources), frozenset(request.statuses)
    )
    subscriber = hub.subscribe(filters)
    try:
        relay = _Relay(websocket, subscriber, read_changes, settings)
        checks = _Recheck(authenticate, token or "", settings.recheck_s, hub.credential_checks)
        await relay.run(request.cursor, read_latest, checks)
    finally:
        hub.unsubscribe(subscriber)


def _denied(topics: Iterable[Topic], scopes: frozenset[str]) -> str:
    denied = [t.value for t in topics if TOPIC_SCOPES[t] not in scopes]
    return f"not allowed: {', '.join(denied)}" if denied else ""


# Credential -> (until when its answer is reused, the check giving it): sockets on one API
# key or token share one database read per period instead of one each.
SharedChecks = dict[str, tuple[float, "asyncio.Future[frozenset[str] | None]"]]


@dataclass
class _Recheck:
    authenticate: Authenticate
    token: str
    every_s: float
    shared: SharedChecks

    async def _scopes(self) -> frozenset[str] | None:
        if not self.token:  # the console's cookie: read from this connection
            return await self.authenticate("")
        now = asyncio.get_running_loop().time()
        found = self.shared.get(self.token)
        if found is None or found[0] <= now:
            if len(self.shared) > 10_000:
                for token in [t for t, (until, _) in self.shared.items() if until <= now]:
                    del self.shared[token]
            check = asyncio.ensure_future(self.authenticate(self.token))
            found = self.shared[self.token] = (now + self.every_s / 4, check)
        return await asyncio.shield(found[1])

    async def until_invalid(self, topics: Iterable[Topic]) -> tuple[int, str]:
        """Sleeps between checks; returns the close code and reason once the credential
        is no longer good for `topics`. A failing check (database away) is not a verdict."""
        await asyncio.sleep(self.every_s * random.uniform(0.5, 1.0))
        while True:
            try:
                scopes = await self._scopes()
            except Exception as exc:
                logger.warning("live connection: credential re-check failed: {}", exc)
            else:
                if scopes is None:
                    reason = "credential ended: logged out, revoked or expired"
                    return CloseCode.UNAUTHENTICATED, reason
                denied = _denied(topics, scopes)
                if denied:
                    return CloseCode.FORBIDDEN, denied
            await asyncio.sleep(self.every_s)


class _Relay:
    def __init__(
        self,
        websocket: WebSocket,
        subscriber: Subscriber,
        read_changes: ReadChanges,
        settings: LiveSettings,
    ) -> None:
        self.websocket = websocket
        self.subscriber = subscriber
        self.read_changes = read_changes
        self.settings = settings
        self.sending = asyncio.Lock()
        self.last = 0

    async def run(self, cursor: int | None, read_latest: ReadLatest, checks: _Recheck) -> None:
        wants_events = Topic.EVENTS in self.subscriber.filters.topics
        if cursor is None:
            self.last = await read_latest() if wants_events else 0
        else:
            self.last = cursor
            if wants_events:
                await self._catch_up()
        await self._send({"type": "ready", "cursor": self.last})
        tasks: list[asyncio.Task[Any]] = [
            asyncio.create_task(self._pump()),
            asyncio.create_task(self._ping()),
            asyncio.create_task(self._read()),
            asyncio.create_task(self.subscriber.overflowed.wait()),
        ]
        recheck = asyncio.create_task(checks.until_invalid(self.subscriber.filters.topics))
        tasks.append(recheck)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        code, reason = 0, ""
        if self.subscriber.overflowed.is_set():
            code, reason = CloseCode.SLOW_CONSUMER, "too slow; resume from cursor"
        elif recheck.done() and not recheck.cancelled() and recheck.exception() is None:
            code, reason = recheck.result()
        if code:
            with contextlib.suppress(TimeoutError):  # never read: the socket just drops
                await asyncio.wait_for(
                    _close(self.websocket, code, reason), self.settings.close_timeout_s
                )

    async def _send(self, message: dict[str, Any] | str) -> None:
        text = message if isinstance(message, str) else orjson.dumps(message).decode()
        async with self.sending:
            await self.websocket.send_text(text)

    async def _send_events(self, items: Sequence[dict[str, Any]], encoded: str = "") -> None:
        """Only what lies after the last cursor sent (live batches that overlap the
        catch-up are trimmed)."""
        fresh = [item for item in items if item["cursor"] > self.last]
        if not fresh:
            return
        await self._send(
            encoded if encoded and len(fresh) == len(items) else wire(Topic.EVENTS, fresh)
        )
        self.last = fresh[-1]["cursor"]

    async def _catch_up(self) -> None:
        while True:
            items = await self.read_changes(self.last, self.subscriber.filters, CATCH_UP_PAGE)
            await self._send_events(items)
            if len(items) < CATCH_UP_PAGE:
                return

    async def _pump(self) -> None:
        queue = self.subscriber.queue
        while True:
            entries = [await queue.get()]
            while not queue.empty():
                entries.append(queue.get_nowait())
            await self._relay(entries)

    async def _relay(self, entries: list[Entry]) -> None:
        """Send in order. Event batches that piled up (the client fell behind) go out as
        one message: fewer, larger writes let it catch up instead of falling further."""
        events: list[Entry] = []
        for entry in entries:
            topic, _, encoded = entry
            if topic is Topic.EVENTS:
                events.append(entry)
                continue
            await self._flush(events)
            events = []
            if topic != RESYNC:
                await self._send(encoded)
            elif Topic.EVENTS in self.subscriber.filters.topics:
                await self._catch_up()
        await self._flush(events)

    async def _flush(self, events: list[Entry]) -> None:
        if len(events) == 1:
            await self._send_events(events[0][1], events[0][2])
        elif events and events[0][1][0]["cursor"] > self.last:  # all fresh: join as text
            await self._send(
                merge_events([entry[2] for entry in events], events[-1][1][-1]["cursor"])
            )
            self.last = events[-1][1][-1]["cursor"]
        elif events:
            await self._send_events([item for entry in events for item in entry[1]])

    async def _ping(self) -> None:
        """Application-level heartbeat: proxies see traffic on idle connections, and a
        client learns quickly that its connection is gone (uvicorn also sends WS pings)."""
        while True:
            await asyncio.sleep(self.settings.ping_interval_s)
            await self._send({"type": "ping", "cursor": self.last})

    async def _read(self) -> None:
        """Notice the client leaving; anything it sends (e.g. pong) is ignored."""
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
