"""Helpers shared by the CLI commands: options, service resolution, settings refresh."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from adapters.broker.celery_client import celery_client
from adapters.broker.task_sender import CeleryTaskSender
from pipeline.logging import setup_logging
from pipeline.messaging.tasks import TaskSender
from pipeline.providers.settings_set import ProviderSettingsSet
from pipeline.redaction import Redactor
from pipeline.runtime import Services, resolve_services
from pipeline.settings import Settings, get_settings

DataDirOption = typer.Option(
    None, "--data-dir", help="Directory of the embedded servers' data (default ./var)."
)


def prepare(
    role: str,
    data_dir: Path | None,
    *,
    need_broker: bool = True,
    redactor: Redactor | None = None,
    providers: ProviderSettingsSet | None = None,
) -> Services:
    """Resolve the services, export them to this process' settings, set up logging.
    `redactor`: the command's, for what it writes out besides the logs (stored errors,
    its runtime's `Deps`); it learns the settings (read again with the services' URLs)
    and every provider's settings (`providers`, the runtime's, or read here), and masks
    the log sinks."""
    if data_dir is not None:
        os.environ["DATA_DIR"] = str(data_dir)
    get_settings.cache_clear()
    settings = get_settings()
    redactor = redactor if redactor is not None else Redactor()
    redactor.learn(settings, *(providers.all() if providers else ProviderSettingsSet.readable()))
    setup_logging(settings, role, redactor)
    services = resolve_services(settings, need_broker=need_broker)
    os.environ.update(services.env())
    get_settings.cache_clear()
    redactor.learn(get_settings())
    return services


def settings() -> Settings:
    return get_settings()


def task_sender(broker_url: str) -> TaskSender:
    """Celery sending to the broker this command resolved (embedded or configured)."""
    return CeleryTaskSender(celery_client(get_settings(), broker_url))
