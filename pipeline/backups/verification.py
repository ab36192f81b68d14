"""Verifying one recorded backup run on request (the API's "verify"), with its result
kept on the run. A failure raises the backup alert, as `pipeline backup verify` does."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from pipeline.backups import BackupError, BackupFile, verify
from pipeline.backups.jobs import alert_verify_failed
from pipeline.backups.progress import Tracker
from pipeline.deps import Deps
from pipeline.unit_of_work import unit_of_work
from schema.operations import BackupRun


def verify_run(
    sessions: sessionmaker[Session],
    deps: Deps,
    database_url: str,
    run_id: int,
    tracker: Tracker | None = None,
) -> bool:
    """Verify the run's file; the process's Redactor (`deps`) masks the error kept on it."""
    with sessions() as session:
        run = session.get(BackupRun, run_id)
        file = run.file if run is not None and run.ok else None
    if file is None:
        if tracker:
            tracker.finish(f"backup run {run_id} has no file to verify")
        return False
    error: str | None = None
    try:
        if tracker:
            tracker.phase("restoring into a scratch database")
        path = Path(file)
        backup = BackupFile(path, datetime.fromtimestamp(path.stat().st_mtime, UTC))
        verify(database_url, backup, progress=tracker.step if tracker else None)
    except (BackupError, OSError) as exc:
        error = deps.redactor.stored_error(str(exc))
        alert_verify_failed(sessions, deps, exc)
    with unit_of_work(sessions, deps) as uow:
        run = uow.session.get(BackupRun, run_id, with_for_update=True)
        if run is not None:
            run.verified_at = datetime.now(UTC)
            run.verify_error = error
    if tracker:
        tracker.finish(error)
    return error is None
