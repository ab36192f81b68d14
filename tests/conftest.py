"""Fixtures: real services, a fresh migrated database, an isolated broker namespace."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from pipeline.embedded import EmbeddedRedis
from pipeline.migrate import upgrade
from pipeline.settings import get_settings
from schema import Base
from schema.session import make_engine, make_session_factory
from tests.support.leftovers import servers_in
from tests.support.services import TestServices, create_database, drop_database, start_services

# Settings come from the environment; make sure a developer's .env does not leak in.
os.environ.setdefault("LOG_LEVEL", "WARNING")


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def session_data_dir() -> Iterator[Path]:
    """DATA_DIR of everything this session runs, never the repository's ./var. Short,
    so the embedded servers' unix sockets stay under the path length limit."""
    path = Path(tempfile.mkdtemp(prefix="pl-test-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _no_embedded_server_left(session_data_dir: Path) -> Iterator[None]:
    """Fail the run if a test left a redis-server or postgres running in the repository's
    ./var or in the session's data directory (one started before the run is not ours)."""
    watched = [ROOT / "var", session_data_dir]
    before = set(servers_in(watched))
    yield
    left = {pid: line for pid, line in servers_in(watched).items() if pid not in before}
    for pid in left:  # a leak must not outlive the report (its directory goes next)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"embedded servers left running by the tests: {sorted(left.values())}"


@pytest.fixture(scope="session")
def private_redis_url(session_data_dir: Path) -> Iterator[str]:
    """A Redis server of this session alone, for caches, locks and rate limits: tests may
    flush it without touching other test runs that share the machine's Redis."""
    server = EmbeddedRedis(session_data_dir / "private")
    server.start()
    yield server.client_url(db=0)
    server.stop()


@pytest.fixture(scope="session")
def services() -> Iterator[TestServices]:
    found = start_services()
    yield found
    for server in reversed(found.embedded):
        server.stop()


@pytest.fixture(scope="session")
def database_url(services: TestServices) -> Iterator[str]:
    url = create_database(services.admin_database_url)
    upgrade(url)
    yield url
    drop_database(services.admin_database_url, url)


@pytest.fixture(scope="session")
def queue_prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}-"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, session_data_dir: Path) -> Iterator[None]:
    """Each test starts from known settings; fixtures below fill in the URLs."""
    for name in ("DATABASE_URL", "BROKER_URL", "REDIS_URL", "QUEUE_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    # Anything that starts an embedded server does it here, not in the repository's ./var.
    monkeypatch.setenv("DATA_DIR", str(session_data_dir))
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "tg-secret-1,tg-secret-2")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_test_secret")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch) -> sessionmaker[Session]:
    """A session factory on a database emptied before the test."""
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    return make_session_factory(engine)


def own_queues(monkeypatch: pytest.MonkeyPatch, queue_prefix: str) -> None:
    """A queue prefix of the test's own, so no test reads another's messages."""
    monkeypatch.setenv("QUEUE_PREFIX", f"{queue_prefix}{uuid.uuid4().hex[:6]}-")
    get_settings.cache_clear()


def reachable_amqp(services: TestServices) -> str:
    if not services.amqp_url:
        pytest.skip("no RabbitMQ reachable (set TEST_AMQP_URL to run the AMQP variant)")
    return services.amqp_url


@pytest.fixture
def amqp_url(services: TestServices, queue_prefix: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """RabbitMQ (skipped where none is reachable), with a queue prefix of the test's own."""
    url = reachable_amqp(services)
    own_queues(monkeypatch, queue_prefix)
    return url


@pytest.fixture(params=["redis", "amqp"])
def broker_url(
    request: pytest.FixtureRequest,
    services: TestServices,
    queue_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """The broker under test: Redis always, RabbitMQ where one is reachable."""
    url = services.redis_url if request.param == "redis" else reachable_amqp(services)
    monkeypatch.setenv("BROKER_URL", url)
    own_queues(monkeypatch, queue_prefix)
    return url
