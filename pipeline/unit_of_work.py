"""One transaction with jobs that run only once it committed.

Services take the session and register side effects (messages, mail, cache invalidation,
live updates) with `after_commit`; they never commit. The caller owns the boundary:

    with unit_of_work(sessions) as uow:
        service(uow.session, ...)
        uow.after_commit(lambda: publish(...))

commits when the block succeeds and then runs the jobs; rolls back and runs none when it
raises. It satisfies `pipeline.domain.context.DomainContext`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from loguru import logger
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps


@dataclass
class UnitOfWork:
    session: Session
    jobs: list[Callable[[], None]] = field(default_factory=list)
    # The process's dependencies (its runtime's; from the environment when none is given).
    deps: Deps = field(default_factory=lambda: Deps.build())

    def after_commit(self, job: Callable[[], None]) -> None:
        self.jobs.append(job)

    def run_jobs(self) -> None:
        """Run every job once; one failing does not keep the others from running, since
        the transaction they follow is already committed."""
        jobs, self.jobs = self.jobs, []
        for job in jobs:
            try:
                job()
            except Exception as exc:
                logger.opt(exception=exc).error("after-commit job {} failed", job)


@contextmanager
def unit_of_work(
    session_factory: sessionmaker[Session], deps: Deps | None = None
) -> Iterator[UnitOfWork]:
    with session_factory() as session:
        uow = UnitOfWork(session, deps=deps or Deps.build())
        try:
            yield uow
            session.commit()
        except BaseException:
            session.rollback()
            uow.jobs.clear()
            raise
    uow.run_jobs()
