"""Provider tests: every provider configured with test secrets, a receiver on a real
broker, a worker-side event service on a real database, and a recorder of the
normalized events the domain inbox hands out."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from amqp.exceptions import ChannelError
from kombu import Connection
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from adapters.broker.declarations import kombu_queue
from pipeline.deps import Deps
from pipeline.domain.inbox import subscribe, unsubscribe
from pipeline.domain.normalized import NormalizedEvent
from pipeline.envelope import Envelope
from pipeline.events.handlers import HandlerContext, load_handler_modules
from pipeline.events.service import EventService, RetryPolicy
from pipeline.messaging.queues import INGEST
from pipeline.providers.registry import build_registry
from pipeline.settings import Settings, get_settings
from tests.pipeline.providers.cases import ENV, Request
from tests.support.services import TestServices
from webhooks.main import create_app

OUTSIDE = "203.0.113.7"  # TEST-NET-3: never a provider


@pytest.fixture(autouse=True)
def provider_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    yield


@pytest.fixture
def broker(services: TestServices, queue_prefix: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The Redis broker in a queue namespace of this test's own."""
    monkeypatch.setenv("BROKER_URL", services.redis_url)
    monkeypatch.setenv("QUEUE_PREFIX", f"{queue_prefix}{uuid.uuid4().hex[:6]}-")
    get_settings.cache_clear()
    return services.redis_url


Send = Callable[[Request], Any]


@contextmanager
def running_receiver(
    broker_url: str, client: str = "127.0.0.1", **settings: Any
) -> Iterator[tuple[TestClient, Send]]:
    # The receiver touches no database: the URL only has to be there (a closed local port,
    # so that /readyz fails at once).
    config = Settings(
        broker_url=broker_url, database_url="postgresql://unused@127.0.0.1:9/db", **settings
    )
    app = create_app(config, registry=build_registry(get_settings()))
    with TestClient(app, client=(client, 40000), raise_server_exceptions=False) as test_client:

        def send(request: Request) -> Any:
            return test_client.request(
                request.method,
                request.path,
                content=request.body or None,
                # Bytes: any latin-1 header value goes out as given, even if not ASCII.
                headers={k: v.encode("latin-1") for k, v in request.headers.items()},
                params=request.params,
            )

        yield test_client, send


@pytest.fixture
def receiver(broker: str) -> Iterator[Send]:
    with running_receiver(broker) as (_, send):
        yield send


def drain(broker_url: str) -> list[Envelope]:
    """Every envelope the receiver enqueued, taken off the ingest queue."""
    envelopes: list[Envelope] = []
    with Connection(broker_url, connect_timeout=2) as conn:
        queue = kombu_queue(INGEST)(conn.default_channel)
        queue.declare()
        while (message := queue.get(no_ack=True)) is not None:
            args = orjson.loads(message.body)[0]
            envelopes.extend(Envelope.from_message(m) for m in args[0])
    return envelopes


@pytest.fixture
def service(db: sessionmaker[Session]) -> EventService:
    return EventService(
        db,
        build_registry(get_settings()),
        load_handler_modules(grpc_sources=get_settings().grpc_sources),
        RetryPolicy(max_attempts=3),
        deps=Deps.build(),
    )


@pytest.fixture
def delivered() -> Iterator[list[NormalizedEvent]]:
    """Normalized events handed to the domain, in order."""
    seen: list[NormalizedEvent] = []

    def record(ctx: HandlerContext, event: NormalizedEvent) -> None:
        seen.append(event)

    subscribe("payment", record)
    subscribe("receipt", record)
    yield seen
    unsubscribe("payment", record)
    unsubscribe("receipt", record)


def enqueued(broker_url: str) -> int:
    """Messages waiting in the ingest queue (0 when Redis has not created it yet)."""
    with Connection(broker_url, connect_timeout=2) as conn:
        queue = kombu_queue(INGEST)(conn.default_channel)
        queue.declare()
        try:
            _, count, _ = queue.queue_declare(passive=True)
        except ChannelError:  # Redis: an empty queue does not exist
            return 0
        return int(count)
