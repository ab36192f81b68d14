"""A gRPC server in a background thread of the test process, and the worker's side of
submitted events (drained from the real broker into the real EventService)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from adapters.broker.batching import BatchingPublisher
from grpc_api.server import Running, start
from grpc_api.v1 import pipeline_pb2_grpc
from pipeline.deps import Deps
from pipeline.envelope import Envelope
from pipeline.events.handlers import HandlerRegistry
from pipeline.events.internal import register_handlers
from pipeline.events.service import EventService, IngestResult
from pipeline.live.events import announce_changes
from pipeline.messaging.queues import INGEST, TASK_INGEST
from pipeline.providers.registry import build_registry
from pipeline.retry import retry_policy
from pipeline.settings import Settings, get_settings
from tests.support.broker import take_tasks
from tests.support.redis_clients import env_deps


class ServerThread:
    def __init__(self, settings: Settings, publisher: BatchingPublisher | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.running: Running = self.run(
            start(settings, host="127.0.0.1", port=0, publisher=publisher)
        )
        self.address = f"127.0.0.1:{self.running.port}"

    def run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def stop(self) -> None:
        self.run(self.running.stop(0.5))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@contextmanager
def serving(
    settings: Settings, publisher: BatchingPublisher | None = None
) -> Iterator[ServerThread]:
    server = ServerThread(settings, publisher)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def stub(address: str) -> Iterator[pipeline_pb2_grpc.PipelineServiceStub]:
    with grpc.insecure_channel(address) as channel:
        yield pipeline_pb2_grpc.PipelineServiceStub(channel)


def key_metadata(key: str, *, bearer: bool = False) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),) if bearer else (("x-api-key", key),)


def event_service(db: sessionmaker[Session], settings: Settings) -> EventService:
    handlers = HandlerRegistry()
    register_handlers(handlers, settings.grpc_sources)
    return EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        handlers,
        retry_policy(settings, "ingest"),
        deps=Deps.build(),
    )


def drain_ingest(broker_url: str, service: EventService, engine: Engine) -> IngestResult:
    """Run every ingest message waiting in the broker, as a worker would; then announce
    the status changes (the worker's after-commit job)."""
    total = IngestResult()
    for name, args in take_tasks(broker_url, INGEST):
        assert name == TASK_INGEST
        stored, _ = service.ingest([Envelope.from_message(m) for m in args[0]])
        total.stored += stored.stored
        total.duplicates += stored.duplicates
    announce_changes(engine, env_deps())
    return total
