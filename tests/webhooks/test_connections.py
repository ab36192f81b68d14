"""The receiver under uvicorn with its own HTTP protocol (webhooks.connections): a request
sees how many connections are open, so closed-loop senders never wait out the batching
publisher's hold while the workers are behind."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from starlette.types import Receive, Scope, Send

from adapters.broker.batching import BatchingPublisher
from pipeline.settings import get_settings
from tests.support.broker import QueueLengthSender
from tests.support.server import running
from tests.support.signing import stripe_event, stripe_headers
from webhooks.connections import PROTOCOL, open_connections
from webhooks.main import create_app

LONG_HOLD_S = 30.0
CLIENTS = 6
ROUNDS = 5


async def count_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    connections = open_connections(scope)
    body = str(None if connections is None else len(connections)).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def _port(base: str) -> int:
    port = urlsplit(base).port
    assert port is not None
    return port


def _seen_by_each(base: str, count: int) -> list[str]:
    """Open `count` keep-alive connections, one request on each in turn."""
    connections = [http.client.HTTPConnection("127.0.0.1", _port(base)) for _ in range(count)]
    try:
        seen = []
        for connection in connections:
            connection.request("GET", "/")
            seen.append(connection.getresponse().read().decode())
        return seen
    finally:
        for connection in connections:
            connection.close()


def test_a_request_sees_the_servers_open_connections() -> None:
    with running(count_app, http=PROTOCOL) as base:
        assert _seen_by_each(base, 3) == ["1", "2", "3"]


def test_under_another_protocol_the_count_is_unknown() -> None:
    with running(count_app) as base:
        assert _seen_by_each(base, 2) == ["None", "None"]


@pytest.fixture
def receiver_env(
    broker_url: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("receiver_env")
def test_closed_loop_senders_never_wait_out_the_hold() -> None:
    """Six senders, each waiting for its answer before the next webhook, with the
    workers far behind and a 30 s hold: each message carries the six and goes out as soon
    as the sixth arrives."""
    sender = QueueLengthSender(already_waiting=100_000)
    publisher = BatchingPublisher(sender, linger_max_s=LONG_HOLD_S)
    app = create_app(get_settings(), publisher=publisher)
    failures: list[str] = []

    def client(n: int, port: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=LONG_HOLD_S * 2)
        try:
            for r in range(ROUNDS):
                body = stripe_event(f"evt_closed_loop_{n}_{r}")
                connection.request("POST", "/webhooks/stripe", body, stripe_headers(body))
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(f"{n}/{r}: {response.status}")
        finally:
            connection.close()

    with running(app, http=PROTOCOL) as base:
        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(n, _port(base))) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(LONG_HOLD_S * ROUNDS)
        took = time.monotonic() - started
    assert failures == []
    assert sum(sender.sizes) == CLIENTS * ROUNDS
    assert max(sender.sizes) == CLIENTS  # held until every connection's webhook was in
    # A hold that ran out even once would take 30 s; the whole run takes about a second.
    assert took < LONG_HOLD_S / 2, sender.sizes
