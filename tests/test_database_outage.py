"""PostgreSQL crashes under load and comes back: nothing answered 2xx is lost.

A PostgreSQL the test owns (embedded, in a temporary directory; the Redis broker too) is
stopped with an immediate shutdown while a bounded, signed load runs through a real
receiver, worker and beat, then started again. Every webhook answered 2xx must end up stored
and processed exactly once, none dead because of the outage; the operator got the
database alert and its resolve through the (fake) Bot API; the worker log stayed at about
one line per failed task.

The outage lasts OUTAGE_S (25 s, not the 60 s of a real failover) and the retry cap is
RETRY_CAP_S (5 s, not the default 60 s): the outage still spans several retry intervals
of every message (1, 2, 4, 5, 5, ... s), which is what the test is about, and the suite
stays under a couple of minutes.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from pipeline.embedded import EmbeddedPostgres, EmbeddedRedis
from pipeline.messaging.urls import redis_py_url
from pipeline.migrate import upgrade
from schema.session import sqlalchemy_url
from scripts.fakes.bot_api import FakeBotApiThread
from tests.support.processes import pipeline_env, receiver, spawn, stop, wait_until, worker
from tests.support.services import VAR
from tests.support.signing import STRIPE_SECRET, stripe_event, stripe_headers

pytestmark = [pytest.mark.process, pytest.mark.chaos]

OUTAGE_S = 25.0
RETRY_CAP_S = 5.0
BEFORE_S, AFTER_S = 5.0, 5.0
RATE_PER_S = 10.0
ALERT_CHAT = -100777
CONSISTENT_WITHIN_S = 60.0


@dataclass
class Load:
    """Posts signed Stripe events at a steady rate until stopped; remembers the answers."""

    base: str
    sent: int = 0
    accepted: list[str] = field(default_factory=list)
    refused: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                event_id = f"evt_{uuid.uuid4().hex}"
                body = stripe_event(event_id, intent_id=f"pi_{uuid.uuid4().hex[:24]}")
                self.sent += 1
                try:
                    answer = client.post(
                        f"{self.base}/webhooks/stripe", content=body, headers=stripe_headers(body)
                    )
                    ok = 200 <= answer.status_code < 300
                except httpx.HTTPError:
                    ok = False
                if ok:
                    self.accepted.append(event_id)
                else:
                    self.refused += 1
                self._stop.wait(max(0.0, 1 / RATE_PER_S - (time.monotonic() - started)))

    def stop(self) -> None:
        self._stop.set()


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


def test_postgres_crash_under_load_loses_nothing(
    owned_postgres: tuple[EmbeddedPostgres, str],
    owned_redis: str,
    tmp_path: Path,
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
        RETRY_OUTAGE_MAX_S=str(RETRY_CAP_S),
        LOG_LEVEL="INFO",
        DATA_DIR=str(tmp_path / "var"),
    )
    engine = create_engine(sqlalchemy_url(url), pool_pre_ping=True)
    beat = spawn(["beat"], env, logs / "beat.log")
    try:
        with worker(env, logs, concurrency=2), receiver(env, logs) as base:
            load = Load(base)
            thread = threading.Thread(target=load.run, daemon=True)
            thread.start()
            time.sleep(BEFORE_S)
            worker_log = logs / "worker.log"
            log_before = worker_log.stat().st_size
            server.stop(mode="immediate")
            assert server.running_url() is None, "PostgreSQL did not stop"
            time.sleep(OUTAGE_S)
            server.start()
            restarted = time.monotonic()
            with worker_log.open("rb") as handle:
                handle.seek(log_before)
                during = handle.read().decode(errors="replace").splitlines()
            time.sleep(AFTER_S)
            load.stop()
            thread.join(15)

            def counts() -> tuple[int, int, int, int]:
                with engine.connect() as conn:
                    row = conn.execute(
                        text(
                            "SELECT count(*), count(*) FILTER (WHERE status = 'processed'), "
                            "count(*) FILTER (WHERE status = 'dead'), "
                            "count(*) FILTER (WHERE attempts > 1) FROM events "
                            "WHERE external_id = ANY(:ids)"
                        ),
                        {"ids": load.accepted},
                    ).one()
                return int(row[0]), int(row[1]), int(row[2]), int(row[3])

            def consistent() -> bool:
                stored, processed, _, _ = counts()
                return stored == processed == len(load.accepted)

            try:
                wait_until(consistent, CONSISTENT_WITHIN_S, "every 2xx processed", 1.0)
            except AssertionError:
                with engine.connect() as conn:
                    statuses = conn.execute(
                        text(
                            "SELECT status, attempts, count(*) FROM events "
                            "WHERE external_id = ANY(:ids) GROUP BY 1, 2"
                        ),
                        {"ids": load.accepted},
                    ).all()
                missing = set(load.accepted) - stored_ids(engine, load.accepted)
                raise AssertionError(
                    f"not consistent: {statuses}, missing {sorted(missing)[:5]}"
                ) from None
            finally:
                stored, processed, dead, doubled = counts()
                seconds = time.monotonic() - restarted
                print(
                    f"\noutage {OUTAGE_S:.0f} s: sent {load.sent}, 2xx {len(load.accepted)}, "
                    f"stored {stored}, processed {processed}, "
                    f"lost {len(load.accepted) - stored}, dead {dead}, doubled {doubled}, "
                    f"{seconds:.1f} s from restart to consistent"
                )
            assert (dead, doubled) == (0, 0)
            assert load.sent > (BEFORE_S + OUTAGE_S) * RATE_PER_S * 0.8
            wait_until(lambda: len(alerts_to(bot)) >= 2, 20, "the alert and its resolve")
            alerts = alerts_to(bot)
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


def alerts_to(bot: FakeBotApiThread) -> list[str]:
    return [str(call.get("text", "")) for call in bot.sent() if call.get("chat_id") == ALERT_CHAT]


def stored_ids(engine: Any, ids: list[str]) -> set[str]:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT external_id FROM events WHERE external_id = ANY(:ids)"), {"ids": ids}
        )
        return {row[0] for row in found}
