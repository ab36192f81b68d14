"""A worker process builds its runtime once: the second event reuses the registry, the
provider settings and the event service of the first (nothing re-read per event)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.providers.config import ProviderSettings
from pipeline.providers.registry import build_registry  # what workers.runtime calls
from pipeline.providers.settings_set import ProviderSettingsSet
from schema.events import Event
from tests.pipeline.events.test_service import stripe_envelope
from workers import runtime as worker_runtime
from workers.celery_app import app


class Counts:
    def __init__(self) -> None:
        self.runtimes = self.registries = self.provider_sets = self.provider_settings = 0


@pytest.fixture
def counts(db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    seen = Counts()
    build_runtime = worker_runtime.build_worker_runtime
    from_env = ProviderSettingsSet.from_env.__func__  # type: ignore[attr-defined]
    settings_init = ProviderSettings.__init__

    def counted_runtime(*args: Any, **kwargs: Any) -> Any:
        seen.runtimes += 1
        return build_runtime(*args, **kwargs)

    def counted_registry(*args: Any, **kwargs: Any) -> Any:
        seen.registries += 1
        return build_registry(*args, **kwargs)

    def counted_from_env(cls: type[ProviderSettingsSet]) -> ProviderSettingsSet:
        seen.provider_sets += 1
        made: ProviderSettingsSet = from_env(cls)
        return made

    def counted_init(self: ProviderSettings, *args: Any, **kwargs: Any) -> None:
        seen.provider_settings += 1
        settings_init(self, *args, **kwargs)

    monkeypatch.setattr(worker_runtime, "build_worker_runtime", counted_runtime)
    monkeypatch.setattr(worker_runtime, "build_registry", counted_registry)
    monkeypatch.setattr(ProviderSettingsSet, "from_env", classmethod(counted_from_env))
    monkeypatch.setattr(ProviderSettings, "__init__", counted_init)
    app.reset_runtime()  # this process starts now, with this test's database
    yield seen
    app.reset_runtime()


def test_a_worker_builds_its_runtime_once_for_every_event(
    counts: Counts, db: sessionmaker[Session]
) -> None:
    from workers.tasks.ingest import ingest, process_event

    first = ingest([stripe_envelope("evt_runtime_1").to_message()])
    assert first["stored"] == 1
    built = (counts.runtimes, counts.registries, counts.provider_sets)
    assert built == (1, 1, 1)
    settings_read = counts.provider_settings  # every provider's, once
    assert settings_read >= 10

    second = ingest([stripe_envelope("evt_runtime_2").to_message()])
    assert second["stored"] == 1
    with db() as session:
        ids = list(session.scalars(select(Event.id).order_by(Event.id)))
    process_event(ids[0])  # a retry of the first: the same runtime again
    assert (counts.runtimes, counts.registries, counts.provider_sets) == (1, 1, 1)
    assert counts.provider_settings == settings_read  # none read again per event
    assert app.runtime.events.deps is app.runtime.deps  # handlers get the runtime's deps
    assert app.runtime.bot is not None  # the bot plugin's processor, made for this process
    assert getattr(app.runtime.bot, "deps", None) is app.runtime.deps  # and with its deps


def test_beat_builds_its_runtime_without_handlers_or_bot(
    db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beat's heartbeat watch needs sessions and deps, not the handler modules (the
    bot's with aiogram: 234 MiB of RSS against 103 without) nor the bot's processor."""
    from workers import celery_app, monitoring

    monkeypatch.setattr(monitoring, "start_beat_heartbeat", lambda settings: None)
    monkeypatch.setattr(monitoring, "start_heartbeat_watch", lambda settings: None)
    app.reset_runtime()
    try:
        celery_app._beat_started()
        assert app.runtime.bot is None
        assert app.runtime.handlers.find("stripe", "payment_intent.succeeded") is None
        assert app.runtime.sessions is not None
    finally:
        app.is_beat = False
        app.reset_runtime()
    assert app.runtime.bot is not None  # a worker's has them
    assert app.runtime.handlers.find("stripe", "payment_intent.succeeded") is not None
    app.reset_runtime()
