"""Events: the filtered list (updated live by static/events.js over /api/v1/ws), one event
in full, replay (operators), and bulk retry by the list's filter after a count."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from api.console.auth import Console, CsrfForm, require
from api.console.errors import ConsoleError
from api.console.flash import flash
from api.console.pages.event_filter import RANGE_LABELS, RETRYABLE, ListFilter, parse
from api.console.render import render
from api.deps import RuntimeDep, SessionDep, UnitOfWorkDep
from api.errors import ProblemError
from api.routes.events import queue_replay
from api.routes.queueing import task_sender
from api.runtime import ApiRuntime
from pipeline.events import filter_repository, repository
from pipeline.events.operations import retry_selected
from pipeline.live.events import announce_changes, latest_cursor
from pipeline.messaging.tasks import TaskSender
from schema.events import Event, EventStatus

router = APIRouter(prefix="/admin", include_in_schema=False)
Reader = Annotated[Console, Depends(require("events:read"))]
Writer = Annotated[Console, Depends(require("events:write"))]
PAGE_SIZE = 50


def _sender(runtime: ApiRuntime) -> TaskSender:
    try:
        return task_sender(runtime)
    except ProblemError as exc:  # no broker configured
        raise ConsoleError(503, exc.detail or "No broker is configured.") from None


def _list_context(request: Request, session: SessionDep, given: ListFilter) -> dict[str, Any]:
    before = request.query_params.get("before", "")
    before_id = int(before) if before.isdigit() and len(before) < 19 else None
    rows: list[Event] = []
    next_id: int | None = None
    if not given.errors:
        rows, next_id = filter_repository.page(
            session, given.query(), before_id=before_id, limit=PAGE_SIZE
        )
    return {
        "rows": rows,
        "filter": given,
        "older": given.querystring(before=str(next_id)) if next_id is not None else None,
        "first_page": before_id is None,
        "cursor": latest_cursor(session),
        "retryable": given.get("status") in RETRYABLE,
    }


def _announce(runtime: ApiRuntime) -> None:
    announce_changes(runtime.engine, runtime.deps)


def _one(given: ListFilter, name: str) -> list[str]:
    value = given.get(name)
    return [value] if value else []


@router.get("/events")
def events(request: Request, console: Reader, session: SessionDep, runtime: RuntimeDep) -> Response:
    given = parse(request.query_params)
    context = _list_context(request, session, given)
    if request.headers.get("hx-target") == "events-results":
        return render(request, "_events_results.html", console, **context)
    return render(
        request,
        "events.html",
        console,
        active="events",
        sources=sorted(p.name for p in runtime.registry()),
        statuses=[s.value for s in EventStatus],
        ranges=RANGE_LABELS,
        live_filter=json.dumps(
            {"sources": _one(given, "source"), "statuses": _one(given, "status")}
        ),
        **context,
    )


@router.get("/events/retry")
def retry_preview(request: Request, console: Writer, session: SessionDep) -> Response:
    """The confirmation of a bulk retry, with how many events it would take now."""
    given = parse(request.query_params)
    selection = given.selection()
    if selection is None or given.errors:
        return render(
            request,
            "_confirm.html",
            console,
            title="Bulk retry",
            message="Filter the list to dead or failed events first.",
            action="/admin/events/retry",
            fields={},
            confirm_label="",
        )
    count = repository.count_selected(session, selection)
    status = given.get("status")
    message = (
        f"{count} {status} event{'s' if count != 1 else ''} match the current filter. "
        "Each goes back to received with a fresh attempt budget and is queued."
    )
    return render(
        request,
        "_confirm.html",
        console,
        title=f"Retry {count} event{'s' if count != 1 else ''}?",
        message=message if count else "No event matches the current filter.",
        action="/admin/events/retry",
        fields={**given.params(), "expected": str(count)},
        confirm_label=f"Retry {count}" if count else "",
    )


@router.post("/events/retry")
def retry(console: Writer, form: CsrfForm, runtime: RuntimeDep) -> Response:
    given = parse(form)
    selection = given.selection()
    if selection is None or given.errors:
        raise ConsoleError(422, "Bulk retry needs a filter on dead or failed events.")
    queued = retry_selected(runtime.sessions, runtime.deps, selection, _sender(runtime))
    announce_changes(runtime.engine, runtime.deps)
    flash(runtime, console, f"{queued} event{'s' if queued != 1 else ''} queued for retry.")
    return RedirectResponse(f"/admin/events?{given.querystring()}", status_code=303)


@router.get("/events/{event_id}")
def event_page(event_id: int, request: Request, console: Reader, session: SessionDep) -> Response:
    found = filter_repository.detail(session, event_id)
    if found is None:
        raise ConsoleError(404, f"There is no event {event_id}.")
    event, attempts = found
    return render(
        request,
        "event.html",
        console,
        active="events",
        event=event,
        attempts=attempts,
        payload=json.dumps(event.payload, indent=2, ensure_ascii=False, sort_keys=True),
        headers=sorted((event.headers or {}).items()),
        cursor=latest_cursor(session),
    )


@router.post("/events/{event_id}/replay")
def replay(
    event_id: int, console: Writer, _form: CsrfForm, uow: UnitOfWorkDep, runtime: RuntimeDep
) -> Response:
    sender = _sender(runtime)
    if repository.reset_for_replay(uow.session, event_id) is None:
        raise ConsoleError(404, f"There is no event {event_id}.")
    queue_replay(uow, sender, event_id)
    uow.after_commit(lambda: _announce(runtime))
    flash(runtime, console, f"Event {event_id} queued for replay.")
    return RedirectResponse(f"/admin/events/{event_id}", status_code=303)
