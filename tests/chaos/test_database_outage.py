"""PostgreSQL crashes under load and comes back: nothing answered 2xx is lost.

A PostgreSQL the test owns (embedded, in a directory of its own; the Redis broker too;
never the machine's shared servers) is stopped with an immediate shutdown while a
bounded, signed load runs through a real receiver, worker and beat, then started again.
The receiver keeps accepting (it needs only the broker). Every webhook answered 2xx must
end up stored and processed exactly once, none dead because of the outage; the operator
got the database alert and its resolve through the (fake) Bot API; the worker log stayed
at about one line per failed task.

Two lengths:

- 60 s with the production retry cap (RETRY_OUTAGE_MAX_S 60 s): a real failover's
  length, nightly (`chaos_long`; about 3 minutes with the drain).
- 25 s with a 5 s retry cap, in every run. It exercises the same path: the receiver
  never touches the database; a worker's task that meets the dead database is retried
  with full-jitter backoff (1, 2, 4, 5, 5, ... s here; up to 60 s in production) for as
  long as the broker keeps its message, and the outage still spans several retry
  intervals of every message. Nothing in that path has a threshold between 25 and 60 s
  (the alert fires after ALERT_DATABASE_AFTER_S, 5 s here).
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from pipeline.embedded import EmbeddedPostgres, EmbeddedRedis
from pipeline.messaging.urls import redis_py_url
from pipeline.migrate import upgrade
from schema.session import sqlalchemy_url
from scripts.fakes.bot_api import FakeBotApiThread
from tests.chaos.conftest import REDIS, Recovery
from tests.support.chaos import SignedLoad, measure
from tests.support.processes import pipeline_env, receiver, spawn, stop, wait_until, worker
from tests.support.services import VAR
from tests.support.signing import STRIPE_SECRET

pytestmark = [pytest.mark.process, pytest.mark.chaos, pytest.mark.chaos_long]

BEFORE_S, AFTER_S = 5.0, 5.0
RATE_PER_S = 20.0
ALERT_CHAT = -100777
# (outage, retry cap): see the module's docstring.
SHORT, FULL = (25.0, 5.0), (60.0, 60.0)


@pytest.fixture
def owned_redis(tmp_path: Path) -> Iterator[str]:
    """A broker of the test's own: nothing another test does to a shared one interferes."""
    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start().url
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def owned_postgres() -> Iterator[tuple[EmbeddedPostgres, str]]:
    # Under the repository like the test services' own server: the unprivileged user
    # PostgreSQL runs as (when tests run as root) cannot enter pytest's private tmp dirs.
    data = VAR / f"outage-{uuid.uuid4().hex[:8]}"
    server = EmbeddedPostgres(data)
    url = server.start().url
    upgrade(url)
    try:
        yield server, url
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


@pytest.mark.parametrize(("outage_s", "retry_cap_s"), [SHORT, FULL])
def test_postgres_crash_under_load_loses_nothing(
    outage_s: float,
    retry_cap_s: float,
    owned_postgres: tuple[EmbeddedPostgres, str],
    owned_redis: str,
    tmp_path: Path,
    recovery: Recovery,
) -> None:
    server, url = owned_postgres
    bot = FakeBotApiThread()
    logs = tmp_path / "logs"
    logs.mkdir()
    env = pipeline_env(
        DATABASE_URL=url,
        BROKER_URL=owned_redis,
        REDIS_URL=redis_py_url(owned_redis),
        QUEUE_PREFIX=f"o{uuid.uuid4().hex[:8]}-",
        STRIPE_WEBHOOK_SECRET=STRIPE_SECRET,
        TELEGRAM_BOT_TOKEN="123:outage",
        TELEGRAM_API_BASE=bot.url,
        ALERT_CHAT_ID=str(ALERT_CHAT),
        ALERT_DATABASE_AFTER_S="5",
        RETRY_OUTAGE_MAX_S=str(retry_cap_s),
        LOG_LEVEL="INFO",
        DATA_DIR=str(tmp_path / "var"),
    )
    engine = create_engine(sqlalchemy_url(url), pool_pre_ping=True)
    beat = spawn(["beat"], env, logs / "beat.log")
    try:
        with worker(env, logs, concurrency=2), receiver(env, logs) as base:
            total = int((BEFORE_S + outage_s + AFTER_S) * RATE_PER_S)
            load = SignedLoad(base, total, RATE_PER_S, "payment_intent.succeeded").start()
            time.sleep(BEFORE_S)
            worker_log = logs / "worker.log"
            log_before = worker_log.stat().st_size
            server.stop(mode="immediate")
            assert server.running_url() is None, "PostgreSQL did not stop"
            stopped = time.monotonic()
            time.sleep(outage_s)
            server.start()
            restarted = time.monotonic()
            with worker_log.open("rb") as handle:
                handle.seek(log_before)
                during = handle.read().decode(errors="replace").splitlines()
            result = load.wait(BEFORE_S + AFTER_S + 60)
            accepted_during = result.accepted_between(stopped, restarted)

            def counts() -> tuple[int, int, int, int]:
                with engine.connect() as conn:
                    row = conn.execute(
                        text(
                            "SELECT count(*), count(*) FILTER (WHERE status = 'processed'), "
                            "count(*) FILTER (WHERE status = 'dead'), "
                            "count(*) FILTER (WHERE attempts > 1) FROM events "
                            "WHERE external_id = ANY(:ids)"
                        ),
                        {"ids": result.accepted},
                    ).one()
                return int(row[0]), int(row[1]), int(row[2]), int(row[3])

            def consistent() -> bool:
                stored, processed, _, _ = counts()
                return stored == processed == len(result.accepted)

            try:
                wait_until(consistent, retry_cap_s + 60, "every 2xx processed", 1.0)
            except AssertionError:
                with engine.connect() as conn:
                    statuses = conn.execute(
                        text(
                            "SELECT status, attempts, count(*) FROM events "
                            "WHERE external_id = ANY(:ids) GROUP BY 1, 2"
                        ),
                        {"ids": result.accepted},
                    ).all()
                missing = set(result.accepted) - stored_ids(engine, result.accepted)
                raise AssertionError(
                    f"not consistent: {statuses}, missing {sorted(missing)[:5]}"
                ) from None
            finally:
                figures = measure(engine, result, restarted)
                _, processed, dead, _ = counts()
                recovery.add(
                    f"PostgreSQL stopped (immediate) {outage_s:.0f} s",
                    REDIS,
                    figures,
                    retry_cap_s + 60,
                    accepted_during_outage=accepted_during,
                    processed=processed,
                    dead=dead,
                    measured_from="the restart",
                )
            assert (dead, figures.doubled) == (0, 0)
            assert accepted_during > outage_s * RATE_PER_S * 0.8, "the receiver stopped accepting"
            wait_until(lambda: len(database_alerts(bot)) >= 2, 20, "the alert and its resolve")
            alerts = database_alerts(bot)
            assert "database unreachable" in alerts[0]
            assert "resolved" in alerts[1] and len(alerts) == 2, alerts
            for log in (worker_log, logs / "beat.log", logs / "receiver.log"):
                assert "Traceback" not in log.read_text(errors="replace"), log.name
            # One line per failed task (Celery's retry notice; its "received" line is
            # there with or without an outage), a few from the outage tracker.
            retries = sum(" retry: Retry in " in line for line in during)
            other = [line for line in during if " retry: " not in line and " received" not in line]
            print(f"worker log during the outage: {len(during)} lines, {retries} retries")
            assert retries > 0 and len(other) < 60, other[:60]
    finally:
        stop(beat)
        bot.stop()
        engine.dispose()


def database_alerts(bot: FakeBotApiThread) -> list[str]:
    """The database alert and its resolve (a long outage also raises the queue backlog
    alert: the webhooks accepted meanwhile wait in the broker, as they should)."""
    sent = [str(call.get("text", "")) for call in bot.sent() if call.get("chat_id") == ALERT_CHAT]
    return [line for line in sent if "[database_unreachable]" in line]


def stored_ids(engine: Any, ids: list[str]) -> set[str]:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT external_id FROM events WHERE external_id = ANY(:ids)"), {"ids": ids}
        )
        return {row[0] for row in found}
