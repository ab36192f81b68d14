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
    deps = runtime().deps
    tracker = worker_tracker(deps, "backup", job)
    done = run_backup(sessions(), deps.settings.database_url or "", deps, tracker=tracker)
    return str(done.path) if done else None


@app.task(name=TASK_VERIFY_BACKUP, base=LoggedTask, bind=True)
def verify_backup(self: LoggedTask, run_id: int, job: str | None = None) -> bool:
    """Restore one recorded backup into a scratch database and compare row counts."""
    deps = runtime().deps
    tracker = worker_tracker(deps, "verify", job, run_id)
    return verify_run(sessions(), deps, deps.settings.database_url or "", run_id, tracker)
