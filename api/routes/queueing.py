"""Sending worker tasks from the API after commit (one publisher per process, on its runtime)."""

from __future__ import annotations

from typing import Any

from loguru import logger

from adapters.broker.celery_message import task_message
from adapters.broker.publisher import BrokerPublisher
from api.errors import ProblemError
from api.runtime import ApiRuntime
from pipeline.messaging.queues import MAINTENANCE, NOTIFY, TASK_SEND_NOTIFICATIONS


def publisher(runtime: ApiRuntime) -> BrokerPublisher:
    broker = runtime.settings.broker_url
    if not broker:
        raise ProblemError(503, "Service Unavailable", "no broker configured (BROKER_URL)")
    return runtime.publisher(broker)


def send_task(runtime: ApiRuntime, name: str, queue: str, *args: Any) -> None:
    publisher(runtime).publish(task_message(name, queue, list(args)))


def send_notifications_soon(runtime: ApiRuntime) -> None:
    """The outbox is also swept by beat: a lost message only delays sending."""
    try:
        send_task(runtime, TASK_SEND_NOTIFICATIONS, NOTIFY)
    except Exception as exc:
        logger.warning("send_notifications not queued now: {}", exc)


__all__ = ["MAINTENANCE", "publisher", "send_notifications_soon", "send_task"]
