"""Progress of backup and verify jobs, for the console's progress bar.

A worker writes each job's state to one Redis hash (field: the job id) as it goes; the
console reads the hash. A job started from the console is written as `queued` before its
task is sent, so the bar shows at once; a job beat started gets its id in the worker.
Progress is best effort: a Redis outage never fails a backup.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Literal

import orjson
import redis
from loguru import logger

from pipeline.deps import Deps
from pipeline.redaction import Redactor

Kind = Literal["backup", "verify"]
State = Literal["queued", "running", "done", "failed"]
# Finished jobs stay listed this long; the hash itself expires a day after the last write.
SHOWN_AFTER_END_S = 3600.0
HASH_TTL_S = 86400
# An unfinished job without news this long is shown as stalled (no worker took it, or the
# worker died) and no longer polled for. A running job writes at least once per percent.
STALLED_AFTER_S: dict[str, float] = {"queued": 600.0, "running": 3600.0}


def hash_key(prefix: str) -> str:
    return f"{prefix}backups:progress"


def new_job_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass
class Job:
    id: str
    kind: Kind
    state: State = "queued"
    run_id: int | None = None
    phase: str = "waiting for a worker"
    done: int = 0
    total: int = 0
    error: str | None = None
    started_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        if self.total <= 0:
            return 0
        return min(99, int(100 * self.done / self.total))

    @property
    def updated(self) -> datetime:
        return datetime.fromtimestamp(self.updated_at, UTC)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def stalled(self, now: float | None = None) -> bool:
        limit = STALLED_AFTER_S.get(self.state)
        return limit is not None and (now or time.time()) - self.updated_at > limit

    def awaited(self, now: float | None = None) -> bool:
        """Still expected to move: worth polling for."""
        return not self.finished and not self.stalled(now)


class ProgressBoard:
    """The jobs' hash in Redis; every method swallows Redis errors (logged). A job's error
    is masked by `redactor` (the process's; by hand, secrets of known shapes only)."""

    def __init__(self, client: redis.Redis, prefix: str, redactor: Redactor | None = None) -> None:
        self.client = client
        self.key = hash_key(prefix)
        self.redactor = redactor or Redactor()

    def write(self, job: Job) -> None:
        job.updated_at = time.time()
        try:
            pipe = self.client.pipeline()
            pipe.hset(self.key, job.id, orjson.dumps(asdict(job)))
            pipe.expire(self.key, HASH_TTL_S)
            pipe.execute()
        except redis.RedisError as exc:
            logger.warning("backup progress not recorded: {}", exc)

    def jobs(self, now: float | None = None) -> list[Job]:
        """Jobs unfinished or finished within the last hour, newest first; older ones are
        removed from the hash."""
        now = now or time.time()
        try:
            raw: dict[bytes, bytes] = self.client.hgetall(self.key)  # type: ignore[assignment]
        except redis.RedisError as exc:
            logger.warning("backup progress not read: {}", exc)
            return []
        found, old = [], []
        for field_name, value in raw.items():
            try:
                job = Job(**orjson.loads(value))
            except (orjson.JSONDecodeError, TypeError):
                old.append(field_name)
                continue
            if job.finished and now - job.updated_at >= SHOWN_AFTER_END_S:
                old.append(field_name)
            elif not job.finished and now - job.updated_at >= HASH_TTL_S:
                old.append(field_name)  # stalled for a day: gone
            else:
                found.append(job)
        if old:  # the daily backup refreshes the hash's TTL: drop what is no longer shown
            try:
                self.client.hdel(self.key, *old)
            except redis.RedisError as exc:
                logger.warning("old backup progress not removed: {}", exc)
        return sorted(found, key=lambda j: j.started_at, reverse=True)

    def tracker(self, job: Job) -> Tracker:
        return Tracker(self, job)


@dataclass
class Tracker:
    """What a worker calls while its job runs."""

    board: ProgressBoard
    job: Job

    def phase(self, name: str, done: int = 0, total: int = 0) -> None:
        self.job.state, self.job.phase = "running", name
        self.job.done, self.job.total = done, total
        self.board.write(self.job)

    def step(self, done: int, total: int) -> None:
        """One write per percent moved: a restore reports hundreds of steps."""
        before = self.job.percent
        self.job.done, self.job.total = done, total
        if self.job.percent != before or done >= total:
            self.board.write(self.job)

    def finish(self, error: str | None = None, run_id: int | None = None) -> None:
        self.job.state = "failed" if error else "done"
        self.job.phase = "failed" if error else "finished"
        self.job.error = self.board.redactor.stored_error(error, 500) if error else None
        if run_id is not None:
            self.job.run_id = run_id
        self.board.write(self.job)


def worker_tracker(
    deps: Deps, kind: Kind, job_id: str | None, run_id: int | None = None
) -> Tracker | None:
    """The tracker of a job in a worker (an id of its own for a job beat started), on the
    worker's Redis client; None when this process has no Redis to report to."""
    try:
        board = ProgressBoard(deps.redis, deps.settings.queue_prefix, deps.redactor)
    except RuntimeError as exc:
        logger.info("backup progress not reported: {}", exc)
        return None
    return board.tracker(Job(id=job_id or new_job_id(), kind=kind, run_id=run_id))
