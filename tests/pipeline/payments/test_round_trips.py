"""What one payment event costs in round trips to PostgreSQL and Redis, counted rather
than timed: the counts hold on a loaded machine where timings do not.

The path is the worker's own: `EventService.ingest` (store, process, commit) and then
`after_processing` (live announcements, after-commit jobs), for a lone event — what a
worker sees at low rate, one webhook per message — and for a batch of 100.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from redis import Redis
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session, sessionmaker

import pipeline.redis_client
from pipeline.deps import Deps
from pipeline.events.handlers import load_handler_modules
from pipeline.events.service import EventService, RetryPolicy
from pipeline.providers.registry import build_registry
from pipeline.settings import get_settings
from schema.session import make_engine, make_session_factory
from tests.pipeline.payments.conftest import RecordingSender, stripe_orders
from tests.pipeline.payments.test_batch_apply import payment, state
from tests.support.services import TestServices
from workers.runtime import WORKER_PING_IDLE_S

# What the path costs: nine statements in one transaction (store and lock, orders with
# their buyers, payments, orders, payments, notifications, receipts, outcomes, the live
# orders' items) and four to announce (lock, stamp, release, look), the same for one
# event as for a hundred. A new round trip on this path fails here first.
LONE_EVENT_SQL = 15
LONE_EVENT_REDIS = 2  # the live events and orders messages
BATCH = 100
BATCH_SQL = 15
BATCH_REDIS = 2


@dataclass
class Trips:
    """Round trips to PostgreSQL (statements, transaction starts and ends, pool pings)
    and to Redis."""

    statements: list[str] = field(default_factory=list)
    transactions: int = 0
    pings: int = 0
    redis: int = 0
    # The client the worker's runtime would hold, counting its round trips.
    client: Redis | None = None

    @property
    def sql(self) -> int:
        # BEGIN and COMMIT/ROLLBACK are one round trip each.
        return len(self.statements) + 2 * self.transactions + self.pings


class CountingConnection(redis.Connection):
    counter: Trips | None = None

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if CountingConnection.counter is not None:
            CountingConnection.counter.redis += 1  # a pipeline is one round trip
        super().send_packed_command(command, check_health)


class CountingUnixConnection(redis.UnixDomainSocketConnection):
    """The same count over a unix socket (the embedded Redis)."""

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if CountingConnection.counter is not None:
            CountingConnection.counter.redis += 1
        super().send_packed_command(command, check_health)


@pytest.fixture
def worker_db(db: sessionmaker[Session], database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on an engine made as the workers make theirs (workers.context), except
    that a connection counts as fresh for longer than WORKER_PING_IDLE_S: on a loaded
    machine the gap between two steps may exceed it, and a ping is not the path's own."""
    assert WORKER_PING_IDLE_S < 60
    engine = make_engine(database_url, pool_size=2, ping_idle_s=60)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def trips(
    worker_db: sessionmaker[Session], services: TestServices, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Trips]:
    import workers.context

    engine = worker_db.kw["bind"]
    monkeypatch.setenv("REDIS_URL", services.redis_client_url)
    monkeypatch.setenv("QUEUE_PREFIX", f"rt{uuid.uuid4().hex[:8]}-")
    get_settings.cache_clear()
    monkeypatch.setattr(workers.context, "engine", lambda: engine)
    monkeypatch.setattr("workers.tasks.live.engine", lambda: engine)
    url = pipeline.redis_client.redis_url(get_settings())
    if url.startswith("unix://"):  # from_url picks the socket class itself: set it after
        client = redis.Redis.from_url(url)
        client.connection_pool.connection_class = CountingUnixConnection
    else:
        client = redis.Redis.from_url(url, connection_class=CountingConnection)
    counted = Trips(client=client)
    monkeypatch.setattr("workers.tasks.live.deps", lambda: Deps(get_settings(), redis=client))

    def statement(*args: Any) -> None:
        counted.statements.append(str(args[2]))

    def begin(conn: Connection) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            counted.transactions += 1  # an autocommit connection sends no BEGIN

    ping = engine.dialect.do_ping

    def counted_ping(dbapi_connection: Any) -> bool:
        counted.pings += 1
        return bool(ping(dbapi_connection))

    monkeypatch.setattr(engine.dialect, "do_ping", counted_ping)
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "begin", begin)
    CountingConnection.counter = counted
    yield counted
    CountingConnection.counter = None
    event.remove(engine, "before_cursor_execute", statement)
    event.remove(engine, "begin", begin)


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FISCAL_REGISTER", "atol")
    monkeypatch.setenv("ALLOW_TEST_PAYMENTS", "true")
    get_settings.cache_clear()


def seed(db: sessionmaker[Session], count: int) -> list[str]:
    return stripe_orders(db, [f"ord-rt-{n}" for n in range(count)])


def ingest_and_count(db: sessionmaker[Session], trips: Trips, orders: list[str], tag: str) -> Trips:
    from workers.tasks.ingest import after_processing

    deps = Deps(get_settings(), sender=Deps.build().sender, redis=trips.client)
    service = EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        load_handler_modules(grpc_sources=get_settings().grpc_sources),
        RetryPolicy(3, 0.01, 0.05),
        deps=deps,
    )
    batch = [payment(f"evt_{tag}_{o}", o, f"pi_{tag}_{o}") for o in orders]
    before = Trips(list(trips.statements), trips.transactions, trips.pings, trips.redis)
    _, result = service.ingest(batch)
    after_processing(result)
    assert len(result.processed) == len(orders)
    return Trips(
        trips.statements[len(before.statements) :],
        trips.transactions - before.transactions,
        trips.pings - before.pings,
        trips.redis - before.redis,
    )


def test_a_lone_payment_event_costs_few_round_trips(
    worker_db: sessionmaker[Session], trips: Trips, sent: RecordingSender
) -> None:
    db = worker_db
    orders = seed(db, 2)
    ingest_and_count(db, trips, orders[:1], "warm")  # caches and prepared state
    cost = ingest_and_count(db, trips, orders[1:], "lone")
    assert state(db)["orders"] == dict.fromkeys(orders, "paid")
    assert cost.sql <= LONE_EVENT_SQL, cost.statements
    assert cost.redis <= LONE_EVENT_REDIS


def test_a_batch_of_payment_events_costs_round_trips_per_batch_not_per_event(
    worker_db: sessionmaker[Session], trips: Trips, sent: RecordingSender
) -> None:
    db = worker_db
    orders = seed(db, BATCH + 1)
    ingest_and_count(db, trips, orders[:1], "warm")
    cost = ingest_and_count(db, trips, orders[1:], "batch")
    assert set(state(db)["orders"].values()) == {"paid"}  # type: ignore[attr-defined]
    assert cost.sql <= BATCH_SQL, cost.statements
    assert cost.redis <= BATCH_REDIS
