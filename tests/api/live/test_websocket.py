"""The live WebSocket over a real server: fan-out, resume without gap or duplicate, a slow
client closed alone, authentication and heartbeats."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.sync.client import ClientConnection, connect

from api.live.connection import LiveSettings
from api.live.endpoint import live_endpoint
from api.live.hub import Hub
from api.live.protocol import CloseCode
from pipeline.live.channel import Topic, channel_name, encode
from pipeline.live.events import announce_changes
from pipeline.messaging.urls import redis_py_url
from pipeline.settings import get_settings
from schema.events import Event
from tests.support.redis_clients import env_deps, env_redis
from tests.support.server import running

TOKENS = {
    "reader": frozenset({"events:read", "broadcasts:read", "feedback:read", "alerts:read"}),
    "events-only": frozenset({"events:read"}),
}


def _app(db: sessionmaker[Session], redis_url: str, queue_size: int = 1000) -> FastAPI:
    # The hub speaks redis-py's URL form (an embedded Redis is `redis+socket://` here).
    hub = Hub(redis_py_url(redis_url), channel_name(get_settings()), queue_size=queue_size)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        yield
        await hub.stop()

    async def authenticate(token: str) -> frozenset[str] | None:
        return TOKENS.get(token)

    app = FastAPI(lifespan=lifespan)
    settings = LiveSettings(ping_interval_s=0.3)
    app.add_api_websocket_route("/ws", live_endpoint(hub, db, authenticate, settings))
    return app


@pytest.fixture
def url(db: sessionmaker[Session], live_redis: str) -> Iterator[str]:
    with running(_app(db, live_redis)) as base:
        yield f"{base}/ws"


def _add(db: sessionmaker[Session], engine: Engine, n: int, source: str = "stripe") -> None:
    with db() as session:
        session.add_all(
            Event(
                source=source,
                type="payment",
                external_id=f"{source}-{datetime.now(UTC).timestamp()}-{i}",
                status="received",
                payload={},
                received_at=datetime.now(UTC),
            )
            for i in range(n)
        )
        session.commit()
    announce_changes(engine, env_deps())


@contextmanager
def _subscribed(url: str, token: str = "reader", **fields: Any) -> Iterator[ClientConnection]:
    # No client keepalive: a client told to stop reading would time its own pings out.
    max_queue = fields.pop("max_queue", 16)
    with connect(url, open_timeout=10, max_queue=max_queue, ping_interval=None) as ws:
        _send_subscribe(ws, token, **fields)
        yield ws


def _send_subscribe(ws: ClientConnection, token: str, **fields: Any) -> None:
    ws.send(json.dumps({"type": "subscribe", "token": token, "topics": ["events"], **fields}))


SLOW_REASON = b"too slow; resume from cursor"


@contextmanager
def _never_reading(base: str) -> Iterator[socket.socket]:
    """A WebSocket client on a raw socket with a tiny receive buffer that subscribes and
    then stops reading, so TCP backs up at once."""
    host, port = base.removeprefix("ws://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    assert response.startswith(b"HTTP/1.1 101")
    subscribe = {"type": "subscribe", "token": "reader", "topics": ["events"]}
    frame = Frame(Opcode.TEXT, json.dumps(subscribe).encode())
    sock.sendall(frame.serialize(mask=True, extensions=[]))
    try:
        yield sock
    finally:
        sock.close()


def _until_ready(ws: ClientConnection) -> tuple[list[int], int]:
    cursors: list[int] = []
    while True:
        message = json.loads(ws.recv(timeout=10))
        if message["type"] == "ready":
            return cursors, message["cursor"]
        assert message["type"] == "events"
        assert message["cursor"] == message["items"][-1]["cursor"]
        cursors += [item["cursor"] for item in message["items"]]


def _events(ws: ClientConnection, count: int) -> list[dict[str, Any]]:
    """The next `count` event items, whatever batches they come in."""
    got: list[dict[str, Any]] = []
    while len(got) < count:
        message = json.loads(ws.recv(timeout=10))
        if message["type"] == "events":
            got += message["items"]
    return got


def test_several_clients_each_get_what_they_subscribed_to(
    url: str, db: sessionmaker[Session], engine: Engine
) -> None:
    with ExitStack() as stack:
        everything = [stack.enter_context(_subscribed(url)) for _ in range(3)]
        tbank_only = stack.enter_context(_subscribed(url, sources=["tbank"]))
        for ws in [*everything, tbank_only]:
            _until_ready(ws)
        _add(db, engine, 4, "stripe")
        _add(db, engine, 2, "tbank")
        for ws in everything:
            cursors = [m["cursor"] for m in _events(ws, 6)]
            assert cursors == sorted(cursors) and len(set(cursors)) == 6
        assert [m["source"] for m in _events(tbank_only, 2)] == ["tbank", "tbank"]


def test_reconnect_with_cursor_gets_the_missed_then_live_without_gap_or_duplicate(
    url: str, db: sessionmaker[Session], engine: Engine
) -> None:
    with _subscribed(url) as ws:
        _until_ready(ws)
        _add(db, engine, 5)
        seen = [m["cursor"] for m in _events(ws, 5)]
    _add(db, engine, 4)  # while the client is away

    # Changes keep committing while it reconnects.
    stop = threading.Event()

    def produce() -> None:
        while not stop.is_set():
            _add(db, engine, 3)

    producer = threading.Thread(target=produce)
    producer.start()
    with _subscribed(url, cursor=seen[-1]) as ws:
        try:
            caught_up, ready_cursor = _until_ready(ws)
            assert caught_up, "events committed while away come first"
            seen += caught_up
            assert ready_cursor == seen[-1]
            seen += [m["cursor"] for m in _events(ws, 12)]
        finally:
            stop.set()
            producer.join()
        _add(db, engine, 1)
        with db() as session:
            total = session.query(Event).count()
        seen += [m["cursor"] for m in _events(ws, total - len(seen))]
    assert len(seen) == len(set(seen)) == total, "no duplicate, no gap"
    assert seen == sorted(seen)


def test_a_slow_client_is_closed_with_4008_and_the_others_get_everything(
    db: sessionmaker[Session], live_redis: str
) -> None:
    with (
        running(_app(db, live_redis, queue_size=10)) as base,
        _subscribed(f"{base}/ws") as fast,
        _never_reading(base) as slow,
    ):
        _until_ready(fast)
        items = [
            {"id": n, "cursor": 10**9 + n, "source": "stripe", "status": "processed",
             "last_error": "x" * 8000}
            for n in range(1500)
        ]  # fmt: skip
        client = env_redis()
        for start in range(0, len(items), 5):
            client.publish(
                channel_name(get_settings()), encode(Topic.EVENTS, items[start : start + 5])
            )
            time.sleep(0.005)  # a steady pace that a reading client keeps up with
        assert len(_events(fast, len(items))) == len(items)
        # Now the slow client reads what was buffered for it: it ends in a 4008 close frame.
        received = bytearray()
        slow.settimeout(10)
        while chunk := slow.recv(1 << 16):
            received += chunk
        close_frame = b"\x88" + bytes([2 + len(SLOW_REASON)]) + CloseCode.SLOW_CONSUMER.to_bytes(2)
        assert close_frame + SLOW_REASON in received


def test_authentication_scopes_and_bad_requests_close_with_clear_codes(url: str) -> None:
    cases = [
        ({"type": "subscribe", "topics": ["events"]}, CloseCode.UNAUTHENTICATED),
        ({"type": "subscribe", "token": "nope", "topics": ["events"]}, CloseCode.UNAUTHENTICATED),
        ({"type": "subscribe", "token": "events-only", "topics": ["alerts"]}, CloseCode.FORBIDDEN),
        ({"type": "subscribe", "token": "reader", "topics": []}, CloseCode.BAD_REQUEST),
        ({"type": "hello"}, CloseCode.BAD_REQUEST),
    ]
    for message, code in cases:
        with connect(url, open_timeout=10) as ws:
            ws.send(json.dumps(message))
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == code, message
    with connect(f"{url}?token=events-only", open_timeout=10) as ws:  # token in the URL
        ws.send(json.dumps({"type": "subscribe", "topics": ["events"]}))
        assert _until_ready(ws)[0] == []


def test_idle_connections_get_pings_and_other_topics_arrive(url: str) -> None:
    with _subscribed(url, topics=["broadcasts", "alerts"]) as ws:
        _until_ready(ws)
        assert json.loads(ws.recv(timeout=5))["type"] == "ping"
        env_redis().publish(
            channel_name(get_settings()), encode(Topic.BROADCASTS, [{"id": 1, "done": 5}])
        )
        message = json.loads(ws.recv(timeout=5))
        while message["type"] == "ping":
            message = json.loads(ws.recv(timeout=5))
        assert message == {"type": "broadcasts", "items": [{"id": 1, "done": 5}]}
