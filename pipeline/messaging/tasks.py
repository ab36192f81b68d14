"""Sending tasks by name from domain code, after the commit that made them necessary.

`TaskSender` is the port (Celery's `send_task` behind it: adapters.broker.task_sender);
each process builds one in its runtime and passes it down (`Deps.sender`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from loguru import logger


class TaskSender(Protocol):
    def send(self, name: str, queue: str, *args: Any, countdown: float | None = None) -> str:
        """Send task `name` with `args` to logical queue `queue`; returns the task id."""
        ...

    def send_many(self, name: str, queue: str, arg_lists: Sequence[Sequence[Any]]) -> None:
        """Send task `name` once per argument list, in one go where the broker allows."""
        ...


def send_task(sender: TaskSender | None, name: str, queue: str, *args: Any) -> None:
    """Best effort: a lost message is picked up by the periodic sweeps of each task."""
    try:
        if sender is None:
            raise RuntimeError("this process sends no tasks")
        sender.send(name, queue, *args)
    except Exception as exc:
        logger.warning("task {} not sent now ({}); the periodic sweep will catch up", name, exc)


def send_tasks(
    sender: TaskSender | None, name: str, queue: str, arg_lists: Sequence[Sequence[Any]]
) -> None:
    """Best effort, like send_task, for several calls of one task, sent over one producer."""
    if not arg_lists:
        return
    try:
        if sender is None:
            raise RuntimeError("this process sends no tasks")
        sender.send_many(name, queue, arg_lists)
    except Exception as exc:
        logger.warning(
            "{} x task {} not sent now ({}); the periodic sweep will catch up",
            len(arg_lists),
            name,
            exc,
        )
