"""A batch's tasks sent through a worker's own Celery app go out in one pipelined Redis
round trip, not one Celery publish each."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from celery import signals

from adapters.broker.celery_client import celery_client
from adapters.broker.declarations import kombu_queue
from adapters.broker.task_sender import CeleryTaskSender
from pipeline.messaging.queues import FISCAL, TASK_REGISTER_RECEIPT
from pipeline.messaging.urls import redis_py_url
from pipeline.settings import get_settings
from tests.support.services import TestServices


def test_send_many_with_the_workers_app_is_one_pipelined_round_trip(
    services: TestServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BROKER_URL", services.redis_url)
    monkeypatch.setenv("QUEUE_PREFIX", "many-test-")
    get_settings.cache_clear()
    app = celery_client(get_settings())  # the workers pass their app, as here
    client = redis.Redis.from_url(redis_py_url(services.redis_url))
    queue = kombu_queue(FISCAL).name
    client.delete(queue)
    published: list[str] = []

    def count(sender: Any = None, **_: Any) -> None:
        published.append(str(sender))

    signals.before_task_publish.connect(count, weak=False)
    try:
        CeleryTaskSender(app).send_many(TASK_REGISTER_RECEIPT, FISCAL, [[n] for n in range(50)])
    finally:
        signals.before_task_publish.disconnect(count)
    assert client.llen(queue) == 50
    assert published == []  # no Celery publish per task
    client.delete(queue)
    client.close()
