"""Fixtures of the pipeline tests: draining the ingest queue the way a worker would."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from kombu import Connection

from adapters.broker.declarations import kombu_queue


def drain_ids(broker_url: str, base: str) -> list[int]:
    """Take every `workers.process_event` message off the queue; their event ids."""
    ids: list[int] = []
    with Connection(broker_url, connect_timeout=2) as conn:
        queue = conn.SimpleQueue(kombu_queue(base))
        try:
            while True:
                try:
                    message = queue.get(timeout=0.3)
                except queue.Empty:
                    break
                assert message.headers["task"] == "workers.process_event"
                body = message.body if isinstance(message.body, bytes | str) else None
                args = json.loads(body)[0] if body is not None else message.payload[0]
                ids.append(int(args[0]))
                message.ack()
        finally:
            queue.close()
    return ids


@pytest.fixture
def worker_context(broker_url: str) -> Iterator[Callable[[], None]]:
    """Drop the worker's runtime so that it is built again from this test's settings."""
    from workers.celery_app import app

    def clear() -> None:
        app.reset_runtime()

    clear()
    yield clear
    clear()
