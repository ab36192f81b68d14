"""One transaction with jobs that run only once it committed: the one way a transaction
ends in this code base.

Services take the session and register side effects (messages, mail, cache invalidation,
live updates) with `after_commit`; they never commit. The caller owns the boundary:

    with unit_of_work(sessions, deps) as uow:
        service(uow.session, ...)
        uow.after_commit(lambda: publish(...))

commits when the block succeeds and then runs the jobs; rolls back and runs none when it
raises. It satisfies `pipeline.domain.context.DomainContext`. `deps` is the process's
`Deps`, built once by its runtime and handed down: a unit of work never reads the
environment for one.

Boundaries are the processes' edges: a task, a request, a bot update, a CLI command.
Services that are handed a `sessionmaker` rather than a session (the event service's
batches, the notification sender, a broadcast, the backup run) split their work into
several transactions by design and end each one with `unit_of_work` too.

The one exception is the savepoint: the event service runs each handler of a batch
that is redone after a failure in its own savepoint, so that one event's failure rolls
back only its own writes (`pipeline.events.service`). A handler's jobs join the batch's
unit of work only when its savepoint committed (`HandlerContext.keep_jobs`). (Connections
that only hold a session-level advisory lock across transactions, a chat's update queue
and the live announcer, commit their lock statements themselves; they carry no work.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from loguru import logger
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps

Job = Callable[[], None]
# Where a unit of work leaves its Deps in its session's `info`: the session's commit hooks
# (the live channel, the order snapshots) publish through the process's Redis client.
DEPS_KEY = "unit_of_work.deps"


@dataclass
class UnitOfWork:
    session: Session
    # The process's dependencies: its runtime's, handed down by the caller.
    deps: Deps
    jobs: list[Job] = field(default_factory=list)

    def after_commit(self, job: Job) -> None:
        self.jobs.append(job)

    def adopt(self, jobs: Iterable[Job]) -> None:
        """Take over jobs collected for work that is now part of this transaction."""
        self.jobs.extend(jobs)

    def discard_jobs(self) -> None:
        self.jobs.clear()

    def run_jobs(self) -> None:
        """Run every job once; one failing does not keep the others from running, since
        the transaction they follow is already committed."""
        jobs, self.jobs = self.jobs, []
        for job in jobs:
            try:
                job()
            except Exception as exc:
                logger.opt(exception=exc).error("after-commit job {} failed", job)


def session_deps(session: Session) -> Deps | None:
    """The Deps of the unit of work that opened `session` (None: opened outside one)."""
    deps = session.info.get(DEPS_KEY)
    return deps if isinstance(deps, Deps) else None


@contextmanager
def unit_of_work(session_factory: sessionmaker[Session], deps: Deps) -> Iterator[UnitOfWork]:
    with session_factory() as session:
        uow = UnitOfWork(session, deps)
        session.info[DEPS_KEY] = uow.deps
        try:
            yield uow
            session.commit()
        except BaseException:
            session.rollback()
            uow.discard_jobs()
            raise
    uow.run_jobs()
