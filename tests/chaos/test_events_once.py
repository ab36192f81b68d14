"""One event, many deliveries; one event that always fails. Real receiver, worker and beat.

- The same event sent ten times at once, and ten times more after it was processed: one
  row, processed once (its handler ran once), the other 19 counted as duplicates.
- A poison event ends `dead` after the retry policy (here 3 attempts, short delays) and
  stays dead — no retry loop, neither from the worker nor from beat's sweeps — is counted
  by `pipeline events retry --status dead --dry-run` and, once its cause is fixed, is
  replayed with `pipeline events replay` and processed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.chaos.conftest import REDIS, Recovery
from tests.support.chaos_stack import Stack, stack_env
from tests.support.poison_handler import POISON_TYPE
from tests.support.processes import run_module, wait_until
from tests.support.services import TestServices
from tests.support.signing import stripe_event, stripe_headers
from tests.support.slow_handler import SLOW_TYPE

pytestmark = [pytest.mark.process, pytest.mark.chaos]

ATTEMPTS = 3
# Beat's dispatch_due runs every 10 s: a dead event that looped would be retried by then.
STAYS_DEAD_S = 12.0


@dataclass
class Pipeline:
    base: str
    env: dict[str, str]
    handler_dir: Path


@pytest.fixture(scope="module")
def pipeline(
    services: TestServices, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    root = tmp_path_factory.mktemp("events-once")
    env = stack_env(database_url, services.redis_url, services.redis_url, root)
    env.update(
        HANDLER_MODULES="tests.support.slow_handler,tests.support.poison_handler",
        SLOW_HANDLER_DIR=str(root),
        SLOW_HANDLER_SECONDS="0.5",
        POISON_HANDLER_DIR=str(root),
        RETRY_INGEST_ATTEMPTS=str(ATTEMPTS),
        RETRY_INGEST_BASE_S="0.5",
        RETRY_INGEST_MAX_S="1",
    )
    with Stack(env, root) as stack:
        stack.start(beat=True)
        yield Pipeline(stack.base, env, root)


def post(base: str, event_id: str, event_type: str) -> int:
    body = stripe_event(event_id, event_type)
    return httpx.post(
        f"{base}/webhooks/stripe", content=body, headers=stripe_headers(body), timeout=10
    ).status_code


def row(engine: Engine, event_id: str) -> tuple[int, str, int, int] | None:
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT id, status, attempts, duplicates FROM events "
                "WHERE source = 'stripe' AND external_id = :e"
            ),
            {"e": event_id},
        ).all()
    assert len(found) <= 1, found
    return None if not found else (found[0][0], found[0][1], found[0][2], found[0][3])


def status_is(engine: Engine, event_id: str, status: str) -> bool:
    return (row(engine, event_id) or (0, ""))[1] == status


def test_same_event_ten_times_concurrently_then_again(
    pipeline: Pipeline, engine: Engine, recovery: Recovery
) -> None:
    event_id = f"evt_dup_{uuid.uuid4().hex[:8]}"
    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda _: post(pipeline.base, event_id, SLOW_TYPE), range(10)))
    assert codes == [200] * 10
    wait_until(lambda: status_is(engine, event_id, "processed"), 60, "processed", 0.2)
    with ThreadPoolExecutor(10) as pool:
        again = list(pool.map(lambda _: post(pipeline.base, event_id, SLOW_TYPE), range(10)))
    assert again == [200] * 10
    wait_until(lambda: (row(engine, event_id) or (0, "", 0, 0))[3] == 19, 60, "19 duplicates")
    time.sleep(2.0)  # a second run of the handler would be under way by now
    _, status, attempts, duplicates = row(engine, event_id) or (0, "", 0, 0)
    runs = (pipeline.handler_dir / f"done-{event_id}").read_text().split()
    recovery.add(
        "same event ×10 concurrently, ×10 again after processing",
        REDIS,
        rows=1,
        handler_runs=len(runs),
        duplicates=duplicates,
    )
    assert (status, attempts, duplicates, len(runs)) == ("processed", 1, 19, 1)


def test_poison_event_ends_dead_stays_dead_and_replays(
    pipeline: Pipeline, engine: Engine, recovery: Recovery
) -> None:
    since = datetime.now(UTC).replace(microsecond=0).isoformat()
    event_id = f"evt_poison_{uuid.uuid4().hex[:8]}"
    sent_at = time.monotonic()
    assert post(pipeline.base, event_id, POISON_TYPE) == 200
    wait_until(lambda: status_is(engine, event_id, "dead"), 90, "the poison event dead", 0.2)
    dead_after_s = time.monotonic() - sent_at
    tried = pipeline.handler_dir / f"tried-{event_id}"
    runs = len(tried.read_text().split())
    time.sleep(STAYS_DEAD_S)
    pk, status, attempts, _ = row(engine, event_id) or (0, "", 0, 0)
    assert (status, attempts) == ("dead", ATTEMPTS)
    # One run more than attempts: ingest's first, one-transaction pass over the batch is
    # rolled back when a handler fails, and the batch runs again event by event.
    assert runs in (ATTEMPTS, ATTEMPTS + 1), runs
    assert len(tried.read_text().split()) == runs, "the handler ran again after dead"

    retry = ("events", "retry", "--status", "dead", "--since", since)
    counted = cli(pipeline.env, *retry, "--dry-run")
    assert "would retry 1 dead events" in counted, counted

    (pipeline.handler_dir / f"cured-{event_id}").touch()
    replayed = cli(pipeline.env, "events", "replay", str(pk))
    assert f"event {pk} queued" in replayed, replayed
    wait_until(lambda: status_is(engine, event_id, "processed"), 60, "processed after replay")
    recovery.add(
        "poison event",
        REDIS,
        attempts_before_dead=attempts,
        dead_after_s=round(dead_after_s, 1),
        handler_runs=len(tried.read_text().split()),
    )
    assert len(tried.read_text().split()) == runs + 1


def cli(env: dict[str, str], *args: str) -> str:
    return run_module("cli", list(args), env)
