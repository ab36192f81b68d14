"""The daily backup job: dump, rotate, record the run, alert on failure."""

from __future__ import annotations

from datetime import UTC, datetime

from loguru import logger
from sqlalchemy.orm import Session, sessionmaker

from pipeline import metrics
from pipeline.alerts import raise_alert, resolve_alert
from pipeline.alerts.checks import BACKUP_FAILED
from pipeline.backups import BackupError, BackupFile, backup_now, rotate, verify
from pipeline.backups.progress import Tracker
from pipeline.deps import Deps
from pipeline.settings import backup_dir
from pipeline.unit_of_work import unit_of_work
from schema.operations import BackupRun


def run_backup(
    sessions: sessionmaker[Session],
    database_url: str,
    deps: Deps,
    *,
    check: bool = False,
    tracker: Tracker | None = None,
) -> BackupFile | None:
    """Dump (and optionally verify) now; a failure is recorded and alerted, not raised.
    `deps`: the process's (its settings say where backups go and how many are kept; its
    Redactor masks the failure's text)."""
    settings, redactor = deps.settings, deps.redactor
    started = datetime.now(UTC)
    directory = backup_dir(settings)
    try:
        if tracker:
            tracker.phase("dumping tables")
        backup = backup_now(database_url, directory, progress=tracker.step if tracker else None)
        if check:
            if tracker:
                tracker.phase("verifying the restore")
            verify(database_url, backup, progress=tracker.step if tracker else None)
        removed = rotate(directory, settings.backup_keep_daily, settings.backup_keep_weekly)
    except (BackupError, OSError, RuntimeError) as exc:
        logger.error("backup failed: {}", exc)
        error = redactor.stored_error(str(exc))
        with unit_of_work(sessions, deps) as uow:
            failed = BackupRun(started_at=started, finished_at=datetime.now(UTC), error=error)
            uow.session.add(failed)
            text = f"backup failed: {error[:500]}"
            raise_alert(uow.session, BACKUP_FAILED, text, settings=settings, redactor=redactor)
            uow.session.flush()
            failed_id = failed.id
        if tracker:
            tracker.finish(error, failed_id)
        return None
    finished = datetime.now(UTC)
    with unit_of_work(sessions, deps) as uow:
        run = BackupRun(
            started_at=started,
            finished_at=finished,
            ok=True,
            file=str(backup.path),
            size_bytes=backup.path.stat().st_size,
            sha256=backup.checksum_path.read_text().split()[0],
        )
        uow.session.add(run)
        resolve_alert(
            uow.session, BACKUP_FAILED, f"backup succeeded: {backup.path.name}", settings=settings
        )
        uow.session.flush()
        run_id = run.id
    if tracker:
        tracker.finish(run_id=run_id)
    metrics.BACKUP_LAST_SUCCESS.set(finished.timestamp())
    logger.info("backup {} written; rotation removed {}", backup.path.name, len(removed))
    return backup


def alert_verify_failed(sessions: sessionmaker[Session], deps: Deps, exc: Exception) -> None:
    redactor = deps.redactor
    with unit_of_work(sessions, deps) as uow:
        text = f"backup verification failed: {redactor.stored_error(str(exc), 500)}"
        raise_alert(uow.session, BACKUP_FAILED, text, settings=deps.settings, redactor=redactor)
