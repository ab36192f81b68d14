"""What domain services need from their caller: a session and after-commit jobs.

`HandlerContext` (events) satisfies it; periodic jobs use `JobContext`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session


class DomainContext(Protocol):
    @property
    def session(self) -> Session: ...

    def after_commit(self, job: Callable[[], None]) -> None: ...


@dataclass
class JobContext:
    session: Session
    jobs: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self, job: Callable[[], None]) -> None:
        self.jobs.append(job)

    def run_jobs(self) -> None:
        for job in self.jobs:
            job()
        self.jobs.clear()
