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
    settings = runtime().settings
    tracker = worker_tracker(runtime().deps, "backup", job)
    done = run_backup(sessions(), settings.database_url or "", settings, tracker=tracker)
    return str(done.path) if done else None


@app.task(name=TASK_VERIFY_BACKUP, base=LoggedTask, bind=True)
def verify_backup(self: LoggedTask, run_id: int, job: str | None = None) -> bool:
    """Restore one recorded backup into a scratch database and compare row counts."""
    tracker = worker_tracker(runtime().deps, "verify", job, run_id)
    return verify_run(sessions(), runtime().settings.database_url or "", run_id, tracker)
