"""What domain services need from their caller: a session, after-commit jobs and the
process's dependencies (`Deps`).

`pipeline.unit_of_work.UnitOfWork` satisfies it, and so does `HandlerContext` (events),
which hands its jobs to the batch's unit of work. A handler run as part of a batch also
carries `deferred`: work its subscribers apply set-wise, once for the whole batch, after
every handler of the batch ran.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.orm import Session

from pipeline.deps import Deps


class DomainContext(Protocol):
    @property
    def session(self) -> Session: ...

    @property
    def deps(self) -> Deps: ...

    def after_commit(self, job: Callable[[], None]) -> None: ...


# Applies the items of one batch together, in the batch's transaction.
BatchApply = Callable[[DomainContext, list[Any]], None]


class Deferred:
    """Set-wise work collected from a batch's handlers, in the order it was added."""

    def __init__(self) -> None:
        self._work: dict[BatchApply, list[Any]] = {}

    def add(self, apply: BatchApply, item: Any) -> None:
        self._work.setdefault(apply, []).append(item)

    def run(self, ctx: DomainContext) -> None:
        work, self._work = self._work, {}
        for apply, items in work.items():
            apply(ctx, items)


def deferred(ctx: DomainContext) -> Deferred | None:
    """The batch's deferred work, or None when the event is applied on its own."""
    found = getattr(ctx, "deferred", None)
    return found if isinstance(found, Deferred) else None
