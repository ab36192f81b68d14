"""Backup and verify jobs report their progress to Redis as they run (the console's bar)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import redis
from sqlalchemy.orm import Session, sessionmaker

from pipeline.backups.jobs import run_backup
from pipeline.backups.progress import Job, ProgressBoard
from pipeline.backups.verification import verify_run
from pipeline.deps import Deps
from pipeline.settings import Settings
from tests.support.events import add_events
from tests.support.services import TestServices


class Recording(ProgressBoard):
    """The real board, remembering every state it wrote."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        super().__init__(client, prefix)
        self.written: list[tuple[str, str, int]] = []

    def write(self, job: Job) -> None:
        super().write(job)
        self.written.append((job.state, job.phase, job.percent))


def test_backup_then_verify_report_each_step(
    db: sessionmaker[Session], database_url: str, services: TestServices, tmp_path: Path
) -> None:
    add_events(db, 5)
    client = redis.Redis.from_url(services.redis_client_url)
    board = Recording(client, f"t{uuid.uuid4().hex[:8]}-")
    try:
        backup = board.tracker(Job(id="b1", kind="backup"))
        assert run_backup(db, database_url, Deps(Settings(backup_dir=tmp_path)), tracker=backup)
        states = [w[0] for w in board.written]
        assert states[0] == "running" and states[-1] == "done"
        percents = [w[2] for w in board.written if w[0] == "running"]
        assert percents == sorted(percents) and 0 < max(percents) <= 99  # tables counted
        (done,) = board.jobs()
        assert done.id == "b1" and done.percent == 100 and done.run_id is not None

        board.written.clear()
        check = board.tracker(Job(id="v1", kind="verify", run_id=done.run_id))
        assert verify_run(db, Deps.build(), database_url, done.run_id, check)
        assert board.written[0][:2] == ("running", "restoring into a scratch database")
        assert board.written[-1][0] == "done"
        assert [j.id for j in board.jobs()] == ["v1", "b1"]  # newest first
    finally:
        client.delete(board.key)
        client.close()


def test_a_failed_backup_shows_its_error(
    db: sessionmaker[Session], database_url: str, services: TestServices, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    client = redis.Redis.from_url(services.redis_client_url)
    board = ProgressBoard(client, f"t{uuid.uuid4().hex[:8]}-")
    try:
        tracker = board.tracker(Job(id="f1", kind="backup"))
        assert (
            run_backup(db, database_url, Deps(Settings(backup_dir=blocker / "x")), tracker=tracker)
            is None
        )
        (job,) = board.jobs()
        assert job.state == "failed" and job.error and job.run_id is not None
    finally:
        client.delete(board.key)
        client.close()


def test_redis_down_never_fails_the_job() -> None:
    board = ProgressBoard(redis.Redis(port=1, socket_connect_timeout=0.5), "x-")
    board.tracker(Job(id="r1", kind="backup")).phase("dumping tables")
    assert board.jobs() == []


def test_stalled_jobs_and_old_ones(services: TestServices) -> None:
    """A queued job nobody takes stops being polled for; a job finished over an hour ago
    leaves the hash."""
    client = redis.Redis.from_url(services.redis_client_url)
    board = ProgressBoard(client, f"t{uuid.uuid4().hex[:8]}-")
    try:
        now = time.time()
        board.write(Job(id="waiting", kind="backup"))
        board.write(Job(id="old", kind="backup", state="done"))
        assert {j.id for j in board.jobs()} == {"waiting", "old"}
        (waiting,) = [j for j in board.jobs() if j.id == "waiting"]
        assert waiting.awaited(now) and not waiting.stalled(now)
        assert waiting.stalled(now + 601) and not waiting.awaited(now + 601)
        assert [j.id for j in board.jobs(now + 3601)] == ["waiting"]
        assert client.hkeys(board.key) == [b"waiting"]  # the old one is removed
        assert board.jobs(now + 86401) == [] and not client.exists(board.key)
    finally:
        client.delete(board.key)
        client.close()
