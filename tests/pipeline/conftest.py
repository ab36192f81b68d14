"""Fixtures of the pipeline tests: draining the ingest queue the way a worker would."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.broker import take_tasks


def drain_ids(broker_url: str, base: str) -> list[int]:
    """Take every `workers.process_event` message off the queue; their event ids."""
    taken = take_tasks(broker_url, base)
    assert {name for name, _ in taken} <= {"workers.process_event"}
    return [int(args[0]) for _, args in taken]


@pytest.fixture
def worker_context(broker_url: str) -> Iterator[Callable[[], None]]:
    """Drop the worker's runtime so that it is built again from this test's settings."""
    from workers.celery_app import app

    def clear() -> None:
        app.reset_runtime()

    clear()
    yield clear
    clear()
