"""Events: filtered keyset list, one event in full, replay one, bulk retry by filter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth.principal import Principal
from api.deps import RuntimeDep, SessionDep, UnitOfWorkDep, require
from api.errors import ProblemError, error_responses
from api.models.common import IdPath
from api.models.events import (
    Attempt,
    EventDetail,
    EventPage,
    EventSummary,
    Replayed,
    RetryRequest,
    RetryResult,
)
from api.routes.queueing import task_sender
from api.runtime import ApiRuntime
from pipeline.events import filter_repository, repository
from pipeline.events.operations import retry_selected
from pipeline.live.events import announce_changes
from pipeline.messaging.queues import INGEST, TASK_PROCESS_EVENT
from pipeline.messaging.tasks import TaskSender, send_task
from pipeline.unit_of_work import UnitOfWork
from schema.events import EventStatus

router = APIRouter(prefix="/events", tags=["events"])
Reader = Annotated[Principal, Depends(require("events:read"))]
Writer = Annotated[Principal, Depends(require("events:write"))]
DENIED = error_responses(401, 403, 429)
TEXT = "Text anywhere in the payload (case-insensitive)"
CURSOR = "`next_cursor` of the previous page"


def queue_replay(uow: UnitOfWork, sender: TaskSender, event_id: int) -> None:
    """Send the event to the workers once its reset committed (the API's and the console's
    replay); a refused send is logged, and the sweeper re-dispatches the event."""
    uow.after_commit(lambda: send_task(sender, TASK_PROCESS_EVENT, INGEST, event_id))


def _announce(runtime: ApiRuntime) -> None:
    announce_changes(runtime.engine, runtime.deps)


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or len(value) > 18:
        raise ProblemError(422, "Unprocessable Content", "cursor must be one from next_cursor")
    return int(value)


def _utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@router.get("", responses={**DENIED, **error_responses(422)}, summary="List events")
def list_events(
    _: Reader,
    session: SessionDep,
    source: Annotated[str | None, Query(max_length=64, examples=["stripe"])] = None,
    type: Annotated[str | None, Query(max_length=128)] = None,
    status: EventStatus | None = None,
    since: Annotated[datetime | None, Query(description="Received at or after")] = None,
    until: Annotated[datetime | None, Query(description="Received before")] = None,
    external_id: Annotated[str | None, Query(max_length=255)] = None,
    q: Annotated[
        str | None, Query(min_length=2, max_length=200, description="Text in payload")
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=20, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EventPage:
    """Newest first, filtered; follow `next_cursor` for older pages."""
    where = filter_repository.EventFilter(
        source, type, status.value if status else None, _utc(since), _utc(until), external_id, q
    )
    rows, next_id = filter_repository.page(session, where, before_id=_cursor(cursor), limit=limit)
    return EventPage(
        items=[EventSummary.model_validate(row) for row in rows],
        next_cursor=str(next_id) if next_id is not None else None,
    )


@router.get("/{event_id}", responses={**DENIED, **error_responses(404)}, summary="Show an event")
def show_event(event_id: IdPath, _: Reader, session: SessionDep) -> EventDetail:
    found = filter_repository.detail(session, event_id)
    if found is None:
        raise ProblemError(404, "Not Found", f"no event {event_id}")
    event, attempts = found
    summary = EventSummary.model_validate(event).model_dump()
    return EventDetail(
        **summary,
        duplicates=event.duplicates,
        request_id=event.request_id,
        stored_at=event.stored_at,
        next_attempt_at=event.next_attempt_at,
        headers=event.headers,
        payload=event.payload,
        attempt_history=[Attempt.model_validate(a) for a in attempts],
    )


@router.post(
    "/{event_id}/replay",
    status_code=202,
    responses={**DENIED, **error_responses(404, 503)},
    summary="Replay an event",
)
def replay_event(event_id: IdPath, _: Writer, uow: UnitOfWorkDep, runtime: RuntimeDep) -> Replayed:
    """Back to `received` with a fresh attempt budget, then queued (handlers are idempotent)."""
    sender = task_sender(runtime)  # 503 before anything when no broker is configured
    if repository.reset_for_replay(uow.session, event_id) is None:
        raise ProblemError(404, "Not Found", f"no event {event_id}")
    queue_replay(uow, sender, event_id)
    uow.after_commit(lambda: _announce(runtime))
    return Replayed(id=event_id, status=EventStatus.RECEIVED)


@router.post(
    "/retry",
    responses={**DENIED, **error_responses(422, 503)},
    summary="Retry dead or failed events by filter",
)
def retry_events(body: RetryRequest, _: Writer, runtime: RuntimeDep) -> RetryResult:
    """Count first with `dry_run`; otherwise reset and queue them in batches."""
    selection = repository.Selection(
        (body.status.value,), body.source, _utc(body.since), _utc(body.until)
    )
    with runtime.sessions() as session:
        matched = repository.count_selected(session, selection)
    if body.dry_run:
        return RetryResult(matched=matched, queued=0, dry_run=True)
    queued = retry_selected(runtime.sessions, runtime.deps, selection, task_sender(runtime))
    announce_changes(runtime.engine, runtime.deps)
    return RetryResult(matched=matched, queued=queued, dry_run=False)
