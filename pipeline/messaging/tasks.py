"""Sending tasks by name from domain code, after the commit that made them necessary.

One publisher per process (rebuilt after a fork), built from BROKER_URL; tests and
workers may replace the sender with `use_task_sender`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol

from loguru import logger

from pipeline.messaging.celery_message import task_message
from pipeline.messaging.publisher import BrokerPublisher
from pipeline.settings import get_settings


class TaskSender(Protocol):
    def send(self, name: str, queue_name: str, *args: Any) -> str: ...


_sender: TaskSender | None = None
_publishers: dict[int, BrokerPublisher] = {}


def use_task_sender(sender: TaskSender | None) -> None:
    global _sender
    _sender = sender


def task_sender() -> TaskSender:
    if _sender is not None:
        return _sender
    pid = os.getpid()
    if pid not in _publishers:
        _publishers[pid] = BrokerPublisher(get_settings().broker_url or "", timeout=2.0)
    return _publishers[pid]


def send_task(name: str, queue: str, *args: Any) -> None:
    """Best effort: a lost message is picked up by the periodic sweeps of each task."""
    try:
        task_sender().send(name, queue, *args)
    except Exception as exc:
        logger.warning("task {} not sent now ({}); the periodic sweep will catch up", name, exc)


def send_tasks(name: str, queue: str, arg_lists: Sequence[Sequence[Any]]) -> None:
    """Best effort, like send_task, for several calls of one task: one round trip on Redis."""
    sender = task_sender()
    try:
        if isinstance(sender, BrokerPublisher):
            sender.publish_many([task_message(name, queue, list(args)) for args in arg_lists])
        else:
            for args in arg_lists:
                sender.send(name, queue, *args)
    except Exception as exc:
        logger.warning(
            "{} x task {} not sent now ({}); the periodic sweep will catch up",
            len(arg_lists),
            name,
            exc,
        )
