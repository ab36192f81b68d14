"""Periodic maintenance: the sweeper (re-dispatch events whose task was lost), retention
(prune raw bodies of old processed events, expired logins, old AI call records) and
table upkeep (vacuum when the server's autovacuum is off)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loguru import logger

from pipeline.ai.retention import prune_calls
from pipeline.auth.retention import purge_expired
from pipeline.events import repository, retention
from pipeline.events.schedule_repository import due_database_retries
from pipeline.messaging.queues import (
    INGEST,
    TASK_DISPATCH_DUE,
    TASK_PROCESS_EVENT,
    TASK_PRUNE_AI_CALLS,
    TASK_PRUNE_AUTH,
    TASK_PRUNE_RAW_BODIES,
    TASK_VACUUM_TABLES,
)
from pipeline.unit_of_work import unit_of_work
from workers.celery_app import app
from workers.context import deps, runtime, sessions
from workers.tasks.base import LoggedTask
from workers.tasks.live import announce_event_changes

BATCH = 500


@app.task(name=TASK_DISPATCH_DUE, base=LoggedTask, bind=True)
def dispatch_due(self: LoggedTask) -> int:
    """Retries the database schedules (due now), failed events past their retry time
    (plus a grace: a retry message normally arrives on time), and events stuck in
    received past the deadline."""
    settings = runtime().settings
    now = datetime.now(UTC)
    with sessions()() as session:
        grace = timedelta(seconds=settings.sweep_retry_grace_s)
        ids = due_database_retries(session, now, BATCH)
        seen = set(ids)
        ids += [i for i in repository.due_for_retry(session, now, grace, BATCH) if i not in seen]
        stuck_before = now - timedelta(seconds=settings.sweep_stuck_after_s)
        ids += repository.stuck(session, stuck_before, BATCH)
    sender = runtime().sender
    for event_id in ids:
        sender.send(TASK_PROCESS_EVENT, INGEST, event_id)
    if ids:
        logger.info("re-dispatched {} overdue events", len(ids))
    announce_event_changes()  # whatever a crashed process left unannounced
    return len(ids)


@app.task(name=TASK_PRUNE_AUTH, base=LoggedTask, bind=True)
def prune_auth(self: LoggedTask) -> int:
    """Expired login codes and long-ended staff sessions of the operator API."""
    with unit_of_work(sessions(), deps()) as uow:
        deleted = purge_expired(uow.session)
    return deleted


@app.task(name=TASK_PRUNE_RAW_BODIES, base=LoggedTask, bind=True)
def prune_raw_bodies(self: LoggedTask) -> int:
    days = runtime().settings.retention_raw_body_days
    if days <= 0:
        return 0
    # In id ranges, each its own short transaction: no scan, no long lock on events.
    total = retention.prune_raw_bodies(sessions(), deps(), datetime.now(UTC) - timedelta(days=days))
    if total:
        logger.info("pruned raw bodies of {} events older than {} days", total, days)
    return total


@app.task(name=TASK_PRUNE_AI_CALLS, base=LoggedTask, bind=True)
def prune_ai_calls(self: LoggedTask) -> int:
    days = runtime().settings.ai_calls_keep_days
    if days <= 0:
        return 0
    cutoff = datetime.now(UTC) - timedelta(days=days)
    total = 0
    while True:
        with unit_of_work(sessions(), deps()) as uow:
            pruned = prune_calls(uow.session, cutoff, 5000)
        total += pruned
        if pruned < 5000:
            return total


@app.task(name=TASK_VACUUM_TABLES, base=LoggedTask, bind=True)
def vacuum_tables(self: LoggedTask) -> list[str]:
    """Dead-row figures for the metrics; VACUUM where needed (pipeline.upkeep)."""
    return [table for table, _ in runtime().upkeep.run().vacuumed]
