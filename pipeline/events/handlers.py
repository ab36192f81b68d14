"""Routing of stored events to domain handlers by (source, type).

A handler runs inside the worker's transaction (a `UnitOfWork`) with the event row locked.
It writes its state through `ctx.session` (never commits) and registers outbound jobs with
`ctx.after_commit`. They are held on the context until the handler's work is kept (it
returned; in an isolated run, its savepoint committed), then join the batch's unit of
work, which runs them once the transaction committed; a handler whose work was rolled
back has its jobs dropped. A handler may be called more than once for an event (a batch
is re-run when a neighbour fails, a task is redelivered); only what it committed counts,
so it must be idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from sqlalchemy.orm import Session

from pipeline.deps import Deps
from pipeline.domain.context import Deferred
from pipeline.plugins import load_entry_points
from pipeline.unit_of_work import Job, UnitOfWork
from schema.events import Event, EventStatus

ENTRY_POINT_GROUP = "pipeline.handlers"
WILDCARD = "*"


@dataclass
class HandlerContext:
    uow: UnitOfWork
    event: Event
    payload: dict[str, Any]
    # Set when the event is processed with its batch in one transaction (no savepoints).
    deferred: Deferred | None = None
    _jobs: list[Job] = field(default_factory=list)

    @property
    def session(self) -> Session:
        return self.uow.session

    @property
    def deps(self) -> Deps:
        """The process's dependencies, those of the unit of work the handler runs in."""
        return self.uow.deps

    def after_commit(self, job: Job) -> None:
        self._jobs.append(job)

    def keep_jobs(self) -> None:
        """The handler's work stays in the transaction: its jobs go to the unit of work."""
        jobs, self._jobs = self._jobs, []
        self.uow.adopt(jobs)


# A handler returns nothing (processed) or EventStatus.IGNORED when it chose to do nothing.
Handler = Callable[[HandlerContext], EventStatus | None]


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], Handler] = {}

    def register(self, source: str, event_type: str, handler: Handler) -> None:
        self._handlers[(source, event_type)] = handler

    def handles(self, source: str, *event_types: str) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            for event_type in event_types or (WILDCARD,):
                self.register(source, event_type, handler)
            return handler

        return decorate

    def find(self, source: str, event_type: str) -> Handler | None:
        exact = self._handlers.get((source, event_type))
        if exact is not None:
            return exact
        # "checkout.session.*" before "checkout.*", then the provider's catch-all.
        head = event_type
        while "." in head:
            head = head.rsplit(".", 1)[0]
            handler = self._handlers.get((source, head + ".*"))
            if handler is not None:
                return handler
        return self._handlers.get((source, WILDCARD))

    def keys(self) -> list[tuple[str, str]]:
        return sorted(self._handlers)


handlers = HandlerRegistry()

BUILTIN_MODULES = (
    "pipeline.events.builtin_handlers",
    "pipeline.events.provider_handlers",
    "pipeline.payments.wiring",
    "pipeline.alerts.prometheus",
)


def load_handler_modules(extra: str = "", *, grpc_sources: Mapping[str, str]) -> HandlerRegistry:
    """Import built-in handler modules, entry-point plugins and configured extras;
    `grpc_sources`: the process's GRPC_SOURCES."""
    for name in BUILTIN_MODULES:
        import_module(name)
    list(load_entry_points(ENTRY_POINT_GROUP))  # importing a plugin registers its handlers
    for name in filter(None, (part.strip() for part in extra.split(","))):
        import_module(name)
    from pipeline.events.internal import register_handlers  # it imports this module

    register_handlers(handlers, grpc_sources)
    return handlers
