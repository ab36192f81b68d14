"""The API sends worker tasks one way: through its runtime's task sender (`deps.sender`,
the core's port, Celery on BROKER_URL); without a broker the routes that must queue say
so with a 503 and change nothing."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.runtime import ApiRuntime
from pipeline.messaging.queues import INGEST, TASK_PROCESS_EVENT
from pipeline.messaging.tasks import TaskSender
from pipeline.settings import Settings
from schema.events import Event
from tests.api.conftest import bearer
from tests.support.broker import take_tasks
from tests.support.services import TestServices


class Recorder:
    """The runtime's sender, with a note of each call (how many sends, of what)."""

    def __init__(self, inner: TaskSender) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str, str, list[list[Any]]]] = []

    def send(self, name: str, queue: str, *args: Any, countdown: float | None = None) -> str:
        self.calls.append(("send", name, queue, [list(args)]))
        return self.inner.send(name, queue, *args, countdown=countdown)

    def send_many(self, name: str, queue: str, arg_lists: Sequence[Sequence[Any]]) -> None:
        self.calls.append(("send_many", name, queue, [list(a) for a in arg_lists]))
        self.inner.send_many(name, queue, arg_lists)


def worker_accepts(name: str, args: list[Any]) -> bool:
    """The workers' app has the task, and its function takes these arguments."""
    from workers.celery_app import app as worker_app

    worker_app.loader.import_default_modules()
    task = worker_app.tasks[name]
    inspect.signature(task.run).bind(*args)
    return True


def add_dead(db: sessionmaker[Session], count: int) -> list[int]:
    with db() as session:
        now = datetime.now(UTC)
        fields = {"source": "stripe", "type": "payment", "status": "dead", "payload": {}}
        rows = [Event(external_id=f"q-{n}", received_at=now, **fields) for n in range(count)]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def statuses(db: sessionmaker[Session], ids: list[int]) -> list[str]:
    with db() as session:
        return [session.get_one(Event, i).status for i in ids]


@pytest.fixture
def operator(staff_token: Callable[..., str]) -> dict[str, str]:
    return bearer(staff_token("operator"))


@pytest.fixture
def broker_url(services: TestServices, api_env: pytest.MonkeyPatch) -> str:
    api_env.setenv("BROKER_URL", services.redis_url)
    return services.redis_url


def test_replay_and_bulk_retry_arrive_as_the_workers_task(
    broker_url: str,
    api_client: TestClient,
    api_runtime: ApiRuntime,
    db: sessionmaker[Session],
    operator: dict[str, str],
) -> None:
    sender = api_runtime.deps.sender
    assert sender is not None
    recorder = Recorder(sender)
    api_runtime.deps.sender = recorder
    try:
        replayed, *dead = add_dead(db, 4)
        answer = api_client.post(f"/api/v1/events/{replayed}/replay", headers=operator)
        assert answer.status_code == 202
        retried = api_client.post(
            "/api/v1/events/retry", json={"status": "dead", "source": "stripe"}, headers=operator
        )
        assert retried.json() == {"matched": 3, "queued": 3, "dry_run": False}
    finally:
        api_runtime.deps.sender = sender
    assert recorder.calls == [
        ("send", TASK_PROCESS_EVENT, INGEST, [[replayed]]),
        ("send_many", TASK_PROCESS_EVENT, INGEST, [[i] for i in dead]),  # one batch, one call
    ]
    messages = take_tasks(broker_url, INGEST)
    assert sorted(messages) == sorted((TASK_PROCESS_EVENT, [i]) for i in [replayed, *dead])
    assert all(worker_accepts(name, args) for name, args in messages)
    assert statuses(db, [replayed, *dead]) == ["received"] * 4


def test_without_a_broker_the_routes_that_queue_answer_503(
    api_settings: Settings, db: sessionmaker[Session], staff_token: Callable[..., str]
) -> None:
    ids = add_dead(db, 2)
    admin = bearer(staff_token("admin"))
    no_broker = api_settings.model_copy(update={"broker_url": None})
    with TestClient(create_app(no_broker)) as client:
        assert client.app.state.runtime.deps.sender is None  # type: ignore[attr-defined]
        for path, body in (
            (f"/api/v1/events/{ids[0]}/replay", None),
            ("/api/v1/events/retry", {"status": "dead"}),
            ("/api/v1/backups", None),
        ):
            answer = client.post(path, json=body, headers=admin)
            assert answer.status_code == 503, path
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["detail"] == "no broker configured (BROKER_URL)"
        counted = client.post(
            "/api/v1/events/retry", json={"status": "dead", "dry_run": True}, headers=admin
        )
        assert counted.json() == {"matched": 2, "queued": 0, "dry_run": True}
    assert statuses(db, ids) == ["dead", "dead"]
