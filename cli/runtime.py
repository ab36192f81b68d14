"""What one CLI command holds while it runs: the resolved services (configured or
embedded), a database engine and session factory, and the core's dependencies with a
task sender on the resolved broker. Built once per command by `cli_runtime` and passed
to what the command calls."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from adapters.broker.task_sender import CeleryTaskSender
from cli.common import prepare, task_sender
from pipeline.deps import Deps
from pipeline.providers.settings_set import ProviderSettingsSet
from pipeline.redaction import Redactor
from pipeline.runtime import Services
from pipeline.settings import Settings, get_settings
from schema.session import make_engine, make_session_factory


@dataclass
class CliRuntime:
    settings: Settings
    services: Services
    engine: Engine
    sessions: sessionmaker[Session]
    deps: Deps


@contextmanager
def cli_runtime(
    role: str = "cli",
    data_dir: Path | None = None,
    *,
    need_broker: bool = True,
    pool_size: int = 5,
) -> Iterator[CliRuntime]:
    """Sessions on DATABASE_URL, or on the embedded servers `pipeline up` runs in DATA_DIR
    (their URLs are exported too: the broker for after-commit tasks, Redis for limits).
    `need_broker=False`: a command that sends no task starts no embedded broker; its Deps
    has a sender only when a broker is configured."""
    # The command's: its log sinks and its Deps share the Redactor and provider settings.
    # A provider configured wrongly fails only the commands that use providers (their
    # Deps reads the settings again then), not every command (a migration, a listing).
    redactor = Redactor()
    try:
        providers: ProviderSettingsSet | None = ProviderSettingsSet.from_env()
    except ValidationError:
        providers = None
    services = prepare(
        role, data_dir, need_broker=need_broker, redactor=redactor, providers=providers
    )
    settings = get_settings()  # with the resolved services' URLs
    engine = make_engine(services.database_url, pool_size=pool_size)
    sender = task_sender(services.broker_url) if services.broker_url else None
    deps = Deps(settings, providers=providers, sender=sender, redactor=redactor)
    try:
        yield CliRuntime(settings, services, engine, make_session_factory(engine), deps)
    finally:
        deps.close()
        if isinstance(sender, CeleryTaskSender):
            sender.close()
        engine.dispose()
        services.stop_started()
