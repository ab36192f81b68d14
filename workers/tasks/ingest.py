"""Ingest: store webhooks once, then process them; retries of single events."""

from __future__ import annotations

from typing import Any

from loguru import logger

from pipeline.envelope import Envelope
from pipeline.events.schedule import has_retry_message
from pipeline.events.service import ProcessResult
from pipeline.messaging.queues import INGEST, TASK_INGEST, TASK_PROCESS_EVENT
from workers.celery_app import app
from workers.context import runtime
from workers.tasks.base import LoggedTask
from workers.tasks.live import announce_event_changes


def schedule_retry(event_id: int, delay_s: float) -> None:
    if not has_retry_message(delay_s):  # the database's: dispatch_due sends it when due
        return
    runtime().sender.send(TASK_PROCESS_EVENT, INGEST, event_id, countdown=delay_s)


def after_processing(result: ProcessResult) -> None:
    """Runs after commit: live updates and retry messages (the handlers' own jobs ran
    when the service's unit of work committed)."""
    announce_event_changes()
    for event_id, delay in result.retry:
        try:
            schedule_retry(event_id, delay)
        except Exception as exc:  # dispatch_due picks failed events up later
            logger.bind(event_id=event_id).warning("retry not scheduled now: {}", exc)


# The message is the only copy of the webhooks it carries: every failure is retried
# (see LoggedTask), without a limit, for as long as the broker keeps the message.
@app.task(
    name=TASK_INGEST,
    base=LoggedTask,
    bind=True,
    keeps_work=True,
    retry_any_failure=True,
    max_retries=None,
)
def ingest(self: LoggedTask, messages: list[dict[str, Any]]) -> dict[str, int]:
    service = runtime().events
    envelopes = [Envelope.from_message(message) for message in messages]
    stored, result = service.ingest(envelopes)
    after_processing(result)
    summary = {
        "received": len(envelopes),
        "stored": stored.stored,
        "duplicates": stored.duplicates,
        "processed": len(result.processed),
        "ignored": len(result.ignored),
        "failed": len(result.retry),
        "dead": len(result.dead),
    }
    logger.debug("ingest {}", summary)
    return summary


# The event is stored: a handler failure is the event's own retry (in the service);
# a database failure retries the message.
@app.task(name=TASK_PROCESS_EVENT, base=LoggedTask, bind=True, keeps_work=True, max_retries=None)
def process_event(self: LoggedTask, event_id: int) -> None:
    with logger.contextualize(event_id=event_id):
        after_processing(runtime().events.process([event_id]))
