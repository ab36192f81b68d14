"""`pipeline events ...`: where each event is, and replaying one."""

from __future__ import annotations

import json
import sys
from contextlib import AbstractContextManager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from cli.common import DataDirOption
from cli.runtime import CliRuntime, cli_runtime
from pipeline.events.filter_repository import EventFilter, page
from pipeline.messaging.tasks import TaskSender
from pipeline.unit_of_work import unit_of_work
from schema.events import Event, EventStatus

app = typer.Typer(help="Inspect and replay stored events.", no_args_is_help=True)

LIST_FIELDS = (
    "id",
    "source",
    "type",
    "external_id",
    "status",
    "attempts",
    "received_at",
    "processed_at",
    "last_error",
)


def _value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _summary(event: Event) -> dict[str, Any]:
    return {name: _value(getattr(event, name)) for name in LIST_FIELDS}


def _detail(event: Event) -> dict[str, Any]:
    data = _summary(event)
    data.update(
        duplicates=event.duplicates,
        request_id=event.request_id,
        stored_at=_value(event.stored_at),
        next_attempt_at=_value(event.next_attempt_at),
        headers=event.headers,
        payload=event.payload,
        raw_body_bytes=len(event.raw_body) if event.raw_body is not None else None,
    )
    return data


def _runtime(
    data_dir: Path | None, need_broker: bool = False
) -> AbstractContextManager[CliRuntime]:
    """The command's runtime; a broker only for the commands that queue events."""
    return cli_runtime("cli", data_dir, need_broker=need_broker, pool_size=1)


def _sender(runtime: CliRuntime) -> TaskSender:
    if runtime.deps.sender is None:  # a runtime resolved with need_broker has one
        raise RuntimeError("no broker to queue events on")
    return runtime.deps.sender


@app.command("list")
def list_events(
    source: str | None = typer.Option(None, help="Only this provider."),
    status: EventStatus | None = typer.Option(None, help="Only this status."),
    limit: int = typer.Option(50, min=1, max=10000, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """List events, newest first."""
    with _runtime(data_dir) as runtime, runtime.sessions() as session:
        selected = EventFilter(source=source or None, status=status.value if status else None)
        rows, _ = page(session, selected, before_id=None, limit=limit)
        events = [_summary(e) for e in rows]
    if as_json:
        typer.echo(json.dumps(events, ensure_ascii=False, indent=2))
        return
    if not events:
        typer.echo("no events")
        return
    typer.echo(
        f"{'ID':>8}  {'SOURCE':<14} {'STATUS':<10} {'ATT':>3}  {'RECEIVED':<25} TYPE / EXTERNAL ID"
    )
    for e in events:
        typer.echo(
            f"{e['id']:>8}  {e['source']:<14} {e['status']:<10} {e['attempts']:>3}  "
            f"{e['received_at']:<25} {e['type']} / {e['external_id']}"
        )


@app.command("show")
def show_event(
    event_id: int = typer.Argument(..., help="Event id."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Show one event with its payload."""
    with _runtime(data_dir) as runtime, runtime.sessions() as session:
        event = session.get(Event, event_id)
        detail = _detail(event) if event else None
    if detail is None:
        typer.echo(f"no event {event_id}", err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(detail, ensure_ascii=False, indent=2))
        return
    for key, value in detail.items():
        if key in {"payload", "headers"}:
            value = json.dumps(value, ensure_ascii=False, indent=2)
        typer.echo(f"{key:>16}: {value}")


@app.command("replay")
def replay_event(
    event_id: int = typer.Argument(..., help="Event id."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Process an event again (handlers are idempotent)."""
    from pipeline.events.repository import reset_for_replay
    from pipeline.messaging.queues import INGEST, TASK_PROCESS_EVENT

    with _runtime(data_dir, need_broker=True) as runtime:
        with unit_of_work(runtime.sessions, runtime.deps) as uow:
            found = reset_for_replay(uow.session, event_id) is not None
        if not found:
            typer.echo(f"no event {event_id}", err=True)
            raise typer.Exit(1)
        task_id = _sender(runtime).send(TASK_PROCESS_EVENT, INGEST, event_id)
        typer.echo(f"event {event_id} queued for processing (task {task_id})")


class RetryStatus(StrEnum):
    dead = "dead"
    failed = "failed"


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\rretrying [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


@app.command("retry")
def retry_events(
    status: RetryStatus = typer.Option(..., "--status", help="Retry events in this status."),
    source: str | None = typer.Option(None, help="Only this provider."),
    since: datetime | None = typer.Option(None, help="Received at or after (ISO time, UTC)."),
    until: datetime | None = typer.Option(None, help="Received before (ISO time, UTC)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say how many would be retried."),
    batch: int = typer.Option(500, min=1, max=10000, help="Events reset per transaction."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Process dead or failed events again, in batches (handlers are idempotent)."""
    from pipeline.events import repository
    from pipeline.events.operations import retry_selected

    selection = repository.Selection((status.value,), source, _utc(since), _utc(until))
    with _runtime(data_dir, need_broker=not dry_run) as runtime:
        with runtime.sessions() as session:
            total = repository.count_selected(session, selection)
        if dry_run:
            typer.echo(f"would retry {total} {status.value} events")
            return
        done = retry_selected(
            runtime.sessions,
            runtime.deps,
            selection,
            _sender(runtime),
            batch=batch,
            on_progress=lambda done: _progress(done, max(total, done)),
        )
        sys.stderr.write("\n")
        typer.echo(f"queued {done} events for processing")


def _utc(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value
