"""Periodic maintenance: re-dispatch events whose retry or first task was lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loguru import logger

from pipeline.events import repository
from pipeline.messaging.celery_message import task_message
from pipeline.messaging.queues import INGEST, TASK_DISPATCH_DUE, TASK_PROCESS_EVENT
from workers.celery_app import app
from workers.context import publisher, sessions
from workers.tasks.base import LoggedTask

# A retry message normally arrives on time; only act on ones clearly overdue.
RETRY_GRACE = timedelta(seconds=30)
STUCK_AFTER = timedelta(minutes=5)
BATCH = 500


@app.task(name=TASK_DISPATCH_DUE, base=LoggedTask, bind=True)
def dispatch_due(self: LoggedTask) -> int:
    now = datetime.now(UTC)
    with sessions()() as session:
        ids = repository.due_for_retry(session, now, RETRY_GRACE, BATCH)
        ids += repository.stuck(session, now - STUCK_AFTER, BATCH)
    for event_id in ids:
        publisher().publish(task_message(TASK_PROCESS_EVENT, INGEST, [event_id]))
    if ids:
        logger.info("re-dispatched {} overdue events", len(ids))
    return len(ids)
