"""Base task: every log line inside a task carries its task id."""

from __future__ import annotations

from typing import Any

from celery import Task
from loguru import logger


class LoggedTask(Task):  # type: ignore[misc]
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with logger.contextualize(task_id=self.request.id):
            return super().__call__(*args, **kwargs)
