"""Celery task messages (protocol 2), formatted by Celery itself, for the batching senders.

The receiver publishes many webhooks per message at a fraction of `send_task`'s per-call
cost; the message is still Celery's own (`app.amqp.as_task_v2`), serialized as Celery's
JSON serializer would, so workers consume it as an ordinary task.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import orjson
from celery import Celery


@dataclass(frozen=True, slots=True)
class TaskMessage:
    task_id: str
    body: bytes
    headers: dict[str, Any]
    queue: str


@cache
def _formatter() -> Celery:
    """A Celery app that only formats messages (no broker, not the current app)."""
    return Celery("pipeline", set_as_current=False)


def task_message(
    name: str,
    queue: str,
    args: list[Any] | tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    task_id: str | None = None,
    eta: datetime | None = None,
) -> TaskMessage:
    task_id = task_id or str(uuid.uuid4())
    message = _formatter().amqp.as_task_v2(
        task_id,
        name,
        args=list(args),
        kwargs=kwargs or {},
        eta=eta,
        ignore_result=True,
        # Celery would repr the arguments (up to 1 KB of every batch of webhooks).
        argsrepr=f"<{len(args)} args>",
        kwargsrepr="{}",
    )
    return TaskMessage(
        task_id=task_id, body=orjson.dumps(message.body), headers=message.headers, queue=queue
    )
