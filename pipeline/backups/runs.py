"""The check before a verify of a recorded backup run is queued (the API and the
console)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from schema.operations import BackupRun


class RunRefused(ValueError):
    """`status`: 404 for no such run, 409 for a run without a file."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def verifiable(session: Session, run_id: int) -> BackupRun:
    run = session.get(BackupRun, run_id)
    if run is None:
        raise RunRefused(404, f"no backup run {run_id}")
    if not run.ok or not run.file:
        raise RunRefused(409, f"backup run {run_id} has no file to verify")
    return run
