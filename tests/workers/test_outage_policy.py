"""The retry policy for database failures, on real PostgreSQL errors and a real broker.

Transient failures retry with capped, jittered backoff and are never acknowledged
away (a retry that cannot be published requeues the message); row problems and bugs
are not transient; an outage costs one log line per failed task and one alert.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import redis
from celery import Celery
from celery.exceptions import Reject, Retry
from loguru import logger
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from pipeline.alerts.outage import DatabaseOutage
from pipeline.events.errors import is_transient_db_error, is_unreachable
from pipeline.settings import Settings, get_settings
from tests.support.services import TestServices
from workers import resilience
from workers.celery_app import WorkerApp
from workers.tasks.base import LoggedTask

CLOSED_PORT_URL = "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2"


def db_error(engine: Engine, sql: str) -> SQLAlchemyError:
    with pytest.raises(SQLAlchemyError) as caught, engine.connect() as conn:
        conn.execute(text(sql))
    return caught.value


def raise_code(code: str) -> str:
    return f"DO $$ BEGIN RAISE EXCEPTION 'x' USING ERRCODE = '{code}'; END $$"


def unreachable() -> SQLAlchemyError:
    engine = create_engine(CLOSED_PORT_URL, poolclass=None)
    try:
        return db_error(engine, "SELECT 1")
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("code", "transient", "down"),
    [
        ("40001", True, False),  # serialization failure
        ("40P01", True, False),  # deadlock
        ("57014", True, False),  # statement timeout
        ("57P01", True, True),  # admin shutdown
        ("22P05", False, False),  # untranslatable character: the row's fault
        ("23505", False, False),  # unique violation
        ("22001", False, False),  # value too long
    ],
)
def test_database_errors_are_classified_by_what_retrying_can_do(
    engine: Engine, code: str, transient: bool, down: bool
) -> None:
    error = db_error(engine, raise_code(code))
    assert (is_transient_db_error(error), is_unreachable(error)) == (transient, down)


def test_a_refused_connection_is_transient_and_unreachable() -> None:
    error = unreachable()
    assert is_transient_db_error(error) and is_unreachable(error)
    assert not is_transient_db_error(ValueError("a bug"))


def test_retry_delay_is_full_jitter_capped() -> None:
    cap = get_settings().retry_outage_max_s
    assert cap == 60.0
    for retries in range(40):
        ceiling = min(cap, 1.0 * 2**retries)
        samples = [resilience.retry_delay(retries, get_settings()) for _ in range(50)]
        assert all(0 <= s <= ceiling for s in samples)
        assert len(set(samples)) > 40  # spread out, not in lockstep


@pytest.fixture
def celery() -> Iterator[WorkerApp]:
    app = WorkerApp(get_settings(), "outage-test", set_as_current=False)
    app.conf.update(task_publish_retry=False, broker_connection_timeout=1)
    yield app


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda m: lines.append(str(m)), level="DEBUG", format="{message}")
    yield lines
    logger.remove(sink)


def flaky_task(app: Celery, failures: int, **options: Any) -> tuple[Any, list[int]]:
    """A task that fails `failures` times on a refused database connection."""
    calls: list[int] = []

    @app.task(name=f"flaky-{uuid.uuid4().hex}", base=LoggedTask, bind=True, **options)
    def flaky(self: LoggedTask) -> int:
        calls.append(self.request.retries)
        if len(calls) <= failures:
            raise unreachable()
        return len(calls)

    return flaky, calls


def test_transient_failure_of_a_task_with_work_is_retried_until_it_passes(
    celery: WorkerApp,
    log_lines: list[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task, calls = flaky_task(celery, 12, keeps_work=True, max_retries=None)
    # A logging config applied earlier in this process (dictConfig/fileConfig default to
    # disabling existing loggers) may have switched this one off; Celery's own is checked.
    monkeypatch.setattr(logging.getLogger("celery.app.trace"), "disabled", False)
    caplog.set_level(logging.INFO, logger="celery.app.trace")
    result = task.apply()
    assert result.get() == 13
    assert calls == list(range(13))  # well past Celery's default of 3 retries
    # One line per failure (Celery's retry notice), none with a traceback, and one line
    # from the outage tracker for the whole outage, one when it ends.
    notices = [r for r in caplog.records if " retry: " in r.getMessage()]
    assert len(notices) == 12 and all(r.exc_info is None for r in notices)
    assert all("\n" not in r.getMessage() for r in notices)
    assert "RetryLater('OperationalError: " in notices[0].getMessage()
    ours = [line for line in log_lines if "database" in line]
    assert len(ours) == 2, ours
    assert ours[0].startswith("database unreachable") and "reachable again" in ours[1]
    assert not any("Traceback" in line for line in log_lines)


def test_a_sweep_skips_and_backs_off_instead_of_failing(
    celery: WorkerApp, log_lines: list[str]
) -> None:
    task, calls = flaky_task(celery, 1)
    assert task.apply().get() is None  # the failure: no exception, no retry
    assert task.apply().get() is None  # backing off: not even called
    assert calls == [0]
    celery.health.backoff.reset(task.name)
    assert task.apply().get() == 2


def test_a_bug_in_a_task_without_work_still_fails(celery: WorkerApp) -> None:
    @celery.task(name=f"buggy-{uuid.uuid4().hex}", base=LoggedTask, bind=True)
    def buggy(self: LoggedTask) -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        buggy.apply().get()


def delivered_task(celery: WorkerApp, task_id: str, retries: int, delivery: dict[str, str]) -> Any:
    """A failing task with work, inside a request as a worker runs it (not eagerly)."""
    task, _ = flaky_task(celery, 99, keeps_work=True, max_retries=None)
    task.push_request(
        id=task_id,
        retries=retries,
        is_eager=False,
        called_directly=False,
        args=[],
        kwargs={},
        delivery_info=delivery,
    )
    return task


def test_a_retry_that_cannot_be_published_requeues_the_message(celery: WorkerApp) -> None:
    celery.conf.broker_url = "redis://127.0.0.1:1/0"
    task = delivered_task(celery, "t-1", 5, {})
    try:
        with pytest.raises(Reject) as rejected:
            task()
    finally:
        task.pop_request()
    assert rejected.value.requeue is True


def test_the_retry_is_published_before_the_message_is_acknowledged(
    celery: WorkerApp, services: TestServices
) -> None:
    """Celery acknowledges an acks_late message after the task returns; by then the retry
    is in the queue, with its countdown and the next retry number."""
    celery.conf.broker_url = services.redis_url
    queue = f"outage-test-{uuid.uuid4().hex[:8]}"
    task = delivered_task(celery, "t-2", 7, {"exchange": "", "routing_key": queue})
    client = redis.Redis.from_url(services.redis_client_url)
    try:
        with pytest.raises(Retry) as retry:
            task()
        [raw] = client.lrange(queue, 0, -1)
    finally:
        task.pop_request()
        client.delete(queue)
        client.close()
    message = orjson.loads(raw)
    assert message["headers"]["id"] == "t-2" and message["headers"]["retries"] == 8
    assert message["headers"]["eta"] is not None
    assert 0 <= float(retry.value.when) <= 60.0


def test_one_alert_and_one_resolve_per_outage_across_processes(
    services: TestServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUEUE_PREFIX", f"o{uuid.uuid4().hex[:8]}-")
    settings = Settings(redis_url=services.redis_client_url, alert_database_after_s=10)
    sent: list[str] = []
    now = [1000.0]

    def clock() -> float:
        return now[0]

    first, second = (
        DatabaseOutage(settings, lambda _, text: sent.append(text), clock) for _ in range(2)
    )
    for _ in range(30):  # two processes failing for 30 s
        first.failed("OperationalError: refused")
        second.failed("OperationalError: refused")
        now[0] += 1
    assert len(sent) == 1 and "database unreachable for 10 s" in sent[0]
    first.recovered()
    second.recovered()
    now[0] += 60
    first.recovered()
    assert len(sent) == 2 and sent[1].startswith("✅ resolved") and "after 30 s" in sent[1]


def test_an_outage_logs_a_summary_a_minute(log_lines: list[str]) -> None:
    now = [0.0]
    outage = DatabaseOutage(Settings(), lambda *_: None, lambda: now[0])
    for _ in range(150):
        outage.failed("OperationalError: refused")
        now[0] += 1
    outage.recovered()
    assert len(log_lines) == 1 + 2 + 1, log_lines  # start, two summaries, the end
