"""Retry policy per task kind, from settings: attempts, base and maximum delay, full jitter.

Task modules ask `retry_policy(settings, "notify")` and use `.delay(attempt)` for the
countdown and `.exhausted(attempt)` to decide when an item goes dead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pipeline.events.backoff import full_jitter_delay
from pipeline.settings import Settings

TaskKind = Literal["ingest", "notify", "fiscal"]
TASK_KINDS: tuple[TaskKind, ...] = ("ingest", "notify", "fiscal")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_s: float = 2.0
    max_s: float = 600.0

    def delay(self, attempt: int) -> float:
        """Seconds before the retry after failed attempt number `attempt` (1-based)."""
        return full_jitter_delay(attempt, self.base_s, self.max_s)

    def exhausted(self, attempt: int) -> bool:
        return attempt >= self.max_attempts


def retry_policy(settings: Settings, kind: TaskKind) -> RetryPolicy:
    return RetryPolicy(
        max_attempts=getattr(settings, f"retry_{kind}_attempts"),
        base_s=getattr(settings, f"retry_{kind}_base_s"),
        max_s=getattr(settings, f"retry_{kind}_max_s"),
    )
