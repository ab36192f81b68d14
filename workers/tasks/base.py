"""Base task: every log line inside a task carries its task id, and a database outage
costs one log line per failed task, never a traceback.

Tasks whose arguments are work that exists nowhere else (`keeps_work`: ingest carries
the webhooks themselves) are retried with backoff for as long as the broker keeps them.
`Task.retry` publishes the new message before this one is acknowledged (acks_late), so a
worker dying in between leaves a duplicate, which storing once per key absorbs, never a
loss; if that publish fails the message is requeued instead of dropped. Periodic sweeps
just skip their runs for a growing pause: the next run picks their work up.
"""

from __future__ import annotations

import time
from typing import Any, NoReturn

from celery import Task
from celery.exceptions import Ignore, Reject, Retry
from loguru import logger

from pipeline.events.errors import is_transient_db_error, is_unreachable, one_line
from workers.resilience import WorkerHealth, retry_delay

# Before a requeue because the retry could not be published (the broker is failing too).
REQUEUE_PAUSE_S = 1.0


class RetryLater(Exception):
    """A short stand-in for the failure in Celery's one-line retry notice."""


class LoggedTask(Task):  # type: ignore[misc]
    keeps_work = False  # retry on a transient database failure instead of skipping
    retry_any_failure = False  # retry on every failure (the arguments are the only copy)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with logger.contextualize(task_id=self.request.id):
            if not self.keeps_work and self.health.backoff.waiting(self.name):
                return None  # backing off after a database failure
            try:
                result = super().__call__(*args, **kwargs)
            except (Retry, Reject, Ignore):
                raise
            except Exception as exc:
                return self._failed(exc)
            self.health.outage.recovered()
            self.health.backoff.reset(self.name)
            return result

    @property
    def health(self) -> WorkerHealth:
        """The process's, from its app (`WorkerApp.health`)."""
        health: WorkerHealth = self.app.health
        return health

    def _failed(self, exc: Exception) -> None:
        transient = is_transient_db_error(exc)
        if transient and is_unreachable(exc):
            self.health.outage.failed(one_line(exc))
        if self.keeps_work and (transient or self.retry_any_failure):
            if not transient:  # a bug or a surprise: the first time with its traceback
                log = logger.opt(exception=exc if self.request.retries == 0 else None)
                log.error("{} failed, will retry: {}", self.name, one_line(exc))
            self.retry_later(exc)
        if not transient:
            raise exc
        pause = self.health.backoff.failed(self.name)
        if not self.health.outage.active:  # during an outage the tracker summarises instead
            logger.warning("{} skipped for {:.0f} s: {}", self.name, pause, one_line(exc))
        return None

    def retry_later(self, exc: BaseException) -> NoReturn:
        """Retry with capped, jittered backoff and no limit on the number of retries."""
        delay = round(retry_delay(self.request.retries, self.app.pipeline_settings), 2)
        try:
            raise self.retry(exc=RetryLater(one_line(exc)), countdown=delay, max_retries=None)
        except Reject as rejected:
            # Celery drops the message when the retry cannot be published: put it back.
            logger.warning("retry not published, requeued: {}", rejected)
            time.sleep(REQUEUE_PAUSE_S)
            raise Reject(rejected, requeue=True) from None
