"""The broker behind the core's `TaskSender` port: one publisher per process id (rebuilt
after a fork), built from BROKER_URL at the first task."""

from __future__ import annotations

import os
from typing import Any

from adapters.broker.publisher import BrokerPublisher
from pipeline.messaging.tasks import TaskSender, use_task_sender
from pipeline.settings import get_settings


class BrokerTaskSender:
    def __init__(self) -> None:
        self._publishers: dict[int, BrokerPublisher] = {}

    def send(self, name: str, queue_name: str, *args: Any) -> str:
        pid = os.getpid()
        if pid not in self._publishers:
            self._publishers[pid] = BrokerPublisher(get_settings().broker_url or "", timeout=2.0)
        return self._publishers[pid].send(name, queue_name, *args)


def install_task_sender() -> None:
    """At a process's start: the broker sends its tasks, unless a sender is installed
    already (a test's)."""
    previous = use_task_sender(None)
    sender: TaskSender = previous if previous is not None else BrokerTaskSender()
    use_task_sender(sender)
