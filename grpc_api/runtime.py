"""What one gRPC server process holds for all its calls."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from adapters.broker.batching import BatchingPublisher
from adapters.broker.publisher import make_sender
from adapters.broker.task_sender import CeleryTaskSender
from pipeline.deps import Deps
from pipeline.events.internal import InternalSource
from pipeline.providers.registry import build_registry
from pipeline.providers.settings_set import ProviderSettingsSet
from pipeline.redaction import Redactor
from pipeline.settings import Settings
from schema.session import make_engine, make_session_factory


@dataclass
class GrpcRuntime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    # Submitted events: the receiver's batching publisher, same semantics.
    publisher: BatchingPublisher
    redis_url: str
    # Single tasks (process an event, send notifications) go through `deps.sender`, the
    # task port every process uses; it is synchronous, so calls run it in a thread.
    deps: Deps

    async def close(self) -> None:
        await self.publisher.close()
        if isinstance(self.deps.sender, CeleryTaskSender):  # the one build_runtime made
            await asyncio.to_thread(self.deps.sender.close)
        await asyncio.to_thread(self.deps.close)
        await asyncio.to_thread(self.engine.dispose)


def check_sources(settings: Settings, providers: ProviderSettingsSet) -> None:
    """An internal source must not share a webhook provider's name: its submitted events
    would be parsed and trusted as that provider's, without its signature."""
    registry = build_registry(settings, providers=providers)
    clashes = [n for n in settings.grpc_sources if not isinstance(registry.get(n), InternalSource)]
    if clashes:
        raise RuntimeError(f"GRPC_SOURCES names webhook providers: {', '.join(clashes)}")


def build_runtime(
    settings: Settings,
    publisher: BatchingPublisher | None = None,
    redactor: Redactor | None = None,
) -> GrpcRuntime:
    """`redactor`: the process's (`pipeline grpc` hands its log sinks and Sentry the same);
    the runtime's `Deps` teaches it the settings and every provider's settings."""
    if not settings.broker_url or not settings.database_url or not settings.redis_url:
        raise RuntimeError("the gRPC API needs BROKER_URL, DATABASE_URL and REDIS_URL")
    providers = ProviderSettingsSet.from_env()
    check_sources(settings, providers)
    timeout = min(1.0, settings.enqueue_timeout_s)
    engine = make_engine(settings.database_url, pool_size=5)
    return GrpcRuntime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        publisher=publisher
        or BatchingPublisher(
            make_sender(settings.broker_url, timeout=timeout),
            max_batch=settings.publish_batch_max,
        ),
        redis_url=settings.redis_url,
        deps=Deps(
            settings,
            providers=providers,
            # Thread-safe: calls send from the default executor's threads.
            sender=CeleryTaskSender(settings),
            redactor=redactor or Redactor(),
        ),
    )
