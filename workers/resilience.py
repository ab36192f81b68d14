"""How tasks ride out a database outage: the retry delay of tasks that carry work, the
back-off of periodic sweeps, and the per-process outage tracker (log and alert)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

from pipeline.alerts.outage import DatabaseOutage
from pipeline.events.backoff import full_jitter_delay
from pipeline.settings import Settings

SWEEP_BACKOFF_BASE_S = 5.0
SWEEP_BACKOFF_MAX_S = 120.0


def retry_delay(retries: int, settings: Settings) -> float:
    """Countdown before retry number `retries + 1`: exponential, full jitter, capped, so
    the retries of many tasks spread out instead of meeting the database as it returns."""
    return full_jitter_delay(retries + 1, settings.retry_outage_base_s, settings.retry_outage_max_s)


class SweepBackoff:
    """Periodic tasks skip their runs for a growing while after a database failure;
    the first run after the pause that succeeds clears it."""

    def __init__(
        self, base_s: float = SWEEP_BACKOFF_BASE_S, max_s: float = SWEEP_BACKOFF_MAX_S
    ) -> None:
        self.base_s, self.max_s = base_s, max_s
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._until: dict[str, float] = {}

    def waiting(self, name: str) -> bool:
        return time.monotonic() < self._until.get(name, 0.0)

    def failed(self, name: str) -> float:
        with self._lock:
            failures = self._failures.get(name, 0) + 1
            self._failures[name] = failures
            pause: float = min(self.max_s, self.base_s * 2 ** (failures - 1))
            self._until[name] = time.monotonic() + pause
        return pause

    def reset(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)
            self._until.pop(name, None)


@dataclass
class WorkerHealth:
    """One worker process's view of its work: the database outage tracker (one log line
    and one alert per outage), the sweeps' back-off, and the start times of running tasks
    (their durations). The Celery app holds one per process (`WorkerApp.health`)."""

    pid: int
    outage: DatabaseOutage
    backoff: SweepBackoff
    started: dict[str, float] = field(default_factory=dict)

    @classmethod
    def new(cls, settings: Settings) -> WorkerHealth:
        return cls(os.getpid(), DatabaseOutage(settings), SweepBackoff())
