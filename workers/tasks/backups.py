"""The daily backup (beat): dump, rotate, record; failures raise an operator alert."""

from __future__ import annotations

from pipeline.backups.jobs import run_backup
from pipeline.backups.progress import worker_tracker
from pipeline.backups.verification import verify_run
from pipeline.messaging.queues import TASK_BACKUP, TASK_VERIFY_BACKUP
from workers.celery_app import app
from workers.context import runtime, sessions
from workers.tasks.base import LoggedTask


@app.task(name=TASK_BACKUP, base=LoggedTask, bind=True)
def backup(self: LoggedTask, job: str | None = None) -> str | None:
    """`job`: the progress id the console shows (beat's daily run has none)."""
    settings, deps = runtime().settings, runtime().deps
    tracker = worker_tracker(deps, "backup", job)
    url = settings.database_url or ""
    done = run_backup(sessions(), url, settings, tracker=tracker, redactor=deps.redactor)
    return str(done.path) if done else None


@app.task(name=TASK_VERIFY_BACKUP, base=LoggedTask, bind=True)
def verify_backup(self: LoggedTask, run_id: int, job: str | None = None) -> bool:
    """Restore one recorded backup into a scratch database and compare row counts."""
    deps = runtime().deps
    tracker = worker_tracker(deps, "verify", job, run_id)
    url = deps.settings.database_url or ""
    return verify_run(sessions(), url, run_id, tracker, redactor=deps.redactor)
