"""What one worker (or beat) process holds for all its tasks, built once per process.

`WorkerApp.runtime` builds it on first use and again in a forked pool child (its pid
differs: a child never uses the parent's connections); Celery's `worker_process_init`
builds it eagerly in each child. Tasks reach it through their app (`workers.context`)
and pass what core code needs (`deps`, sessions, services) down as arguments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline.alerts.checks import on_event_dead
from pipeline.deps import Deps
from pipeline.events.handlers import ENTRY_POINT_GROUP, HandlerRegistry, load_handler_modules
from pipeline.events.service import EventService
from pipeline.messaging.tasks import TaskSender
from pipeline.plugins import load_entry_points
from pipeline.providers.registry import ProviderRegistry, build_registry
from pipeline.providers.settings_set import ProviderSettingsSet
from pipeline.redaction import Redactor
from pipeline.retry import retry_policy
from pipeline.settings import Settings
from pipeline.telegram.api import TokenGate
from pipeline.telegram.updates import Processor, plugin_processor
from pipeline.upkeep.service import TableUpkeep
from schema import Base
from schema.session import make_engine, make_session_factory


@dataclass
class WorkerRuntime:
    pid: int
    settings: Settings
    deps: Deps
    sender: TaskSender
    engine: Engine
    sessions: sessionmaker[Session]
    registry: ProviderRegistry
    handlers: HandlerRegistry
    events: EventService
    # The bot plugin's update processor (None: no bot installed).
    bot: Processor | None
    telegram: TokenGate
    upkeep: TableUpkeep

    def close(self) -> None:
        # The bot's processor holds its loop, Bot session and engine; it uses self.deps.
        close = getattr(self.bot, "close", None)
        if callable(close):
            close()
        self.deps.close()
        self.engine.dispose()


def load_code(
    settings: Settings, providers: ProviderSettingsSet
) -> tuple[ProviderRegistry, HandlerRegistry]:
    """Import the handler modules and build the providers (a prefork parent does it once,
    so forked children start warm: the Bot API types take seconds to build)."""
    handlers = load_handler_modules(settings.handler_modules, grpc_sources=settings.grpc_sources)
    return build_registry(settings, providers=providers), handlers


WORKER_PING_IDLE_S = 2.0


def build_worker_runtime(
    settings: Settings,
    sender: TaskSender,
    providers: ProviderSettingsSet | None = None,
    redactor: Redactor | None = None,
    *,
    runs_tasks: bool = True,
) -> WorkerRuntime:
    """`providers` and `redactor`: the worker app's (read from the environment when not
    given); the runtime's `Deps` adds its settings to the Redactor. `runs_tasks`: False
    in beat, whose heartbeat watch needs sessions and `Deps` but no handler: the handler
    modules (the bot's among them, with aiogram) are some 130 MB it would never use."""
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set for the worker")
    providers = providers or ProviderSettingsSet.from_env()
    deps = Deps(settings, providers=providers, sender=sender, redactor=redactor)
    # Tasks retry transient failures, so a ping per checkout (one round trip per session
    # and per announcement) is paid only by connections idle for a while.
    engine = make_engine(settings.database_url, pool_size=2, ping_idle_s=WORKER_PING_IDLE_S)
    sessions = make_session_factory(engine)
    if runs_tasks:
        registry, handlers = load_code(settings, providers)
    else:
        registry, handlers = build_registry(settings, providers=providers), HandlerRegistry()
    events = EventService(
        sessions,
        registry,
        handlers,
        retry_policy(settings, "ingest"),
        on_dead=on_event_dead(settings),
        deps=deps,
    )
    bot = _bot_processor(deps) if runs_tasks else None
    return WorkerRuntime(
        os.getpid(),
        settings,
        deps,
        sender,
        engine,
        sessions,
        registry,
        handlers,
        events,
        bot,
        TokenGate(settings),
        TableUpkeep(engine, Base.metadata.tables.keys(), settings.db_vacuum),
    )


def _bot_processor(deps: Deps) -> Processor | None:
    """The update processor of the handler plugin that offers one (the bot's
    `update_processor`), made for this process with its `Deps`: the bot serves with the
    runtime's settings, provider settings, Redactor and Redis client."""
    for name, plugin in load_entry_points(ENTRY_POINT_GROUP):
        factory = getattr(plugin, "update_processor", None)
        if callable(factory):
            return plugin_processor(name, factory, deps)
    return None
