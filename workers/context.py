"""Per-process resources of a worker: engine, session factory, services.

Keyed by process id, so a forked pool process builds its own instead of using the
parent's connections.
"""

from __future__ import annotations

import os
from functools import cache

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline.alerts.checks import on_event_dead
from pipeline.events.handlers import load_handler_modules
from pipeline.events.service import EventService
from pipeline.providers.registry import default_registry
from pipeline.retry import retry_policy
from pipeline.settings import get_settings
from schema.session import make_engine, make_session_factory

WORKER_PING_IDLE_S = 2.0


@cache
def _engine(pid: int) -> Engine:
    url = get_settings().database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set for the worker")
    # Tasks retry transient failures, so a ping per checkout (one round trip per session
    # and per announcement) is paid only by connections idle for a while.
    return make_engine(url, pool_size=2, ping_idle_s=WORKER_PING_IDLE_S)


def engine() -> Engine:
    return _engine(os.getpid())


def sessions() -> sessionmaker[Session]:
    return make_session_factory(_engine(os.getpid()))


@cache
def _event_service(pid: int) -> EventService:
    settings = get_settings()
    return EventService(
        sessions(),
        default_registry(),
        load_handler_modules(settings.handler_modules),
        retry_policy(settings, "ingest"),
        on_dead=on_event_dead,
    )


def event_service() -> EventService:
    return _event_service(os.getpid())


def preload() -> None:
    """Import handlers and providers once in the parent, so forked children start warm
    (the Bot API types take seconds to build)."""
    load_handler_modules(get_settings().handler_modules)
    default_registry()
