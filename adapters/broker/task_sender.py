"""Celery behind the core's `TaskSender` port: `send_task` by name onto the task's queue."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

from adapters.broker.celery_client import celery_client
from pipeline.messaging.queues import queue_name
from pipeline.messaging.tasks import TaskSender, use_task_sender
from pipeline.settings import get_settings


class CeleryTaskSender:
    """Sends through `app`, or through a Celery client built from BROKER_URL at the first
    task of each process (a forked child builds its own; new settings, a new client)."""

    def __init__(self, app: Celery | None = None) -> None:
        self._app = app
        self._clients: dict[tuple[int, str], Celery] = {}

    def _celery(self) -> Celery:
        if self._app is not None:
            return self._app
        settings = get_settings()
        key = (os.getpid(), settings.broker_url or "")
        if key not in self._clients:
            self._clients[key] = celery_client(settings)
        return self._clients[key]

    def send(self, name: str, queue: str, *args: Any, countdown: float | None = None) -> str:
        result = self._celery().send_task(
            name, args=list(args), queue=queue_name(queue), countdown=countdown
        )
        return str(result.id)


def install_task_sender(app: Celery | None = None) -> None:
    """At a process's start: Celery sends its tasks, unless a sender is installed already
    (a test's)."""
    previous = use_task_sender(None)
    sender: TaskSender = previous if previous is not None else CeleryTaskSender(app)
    use_task_sender(sender)
