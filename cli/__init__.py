"""The `pipeline` command."""

from __future__ import annotations

from pathlib import Path

import typer

from cli import (
    api,
    backup,
    business,
    events,
    grpc,
    knowledge,
    miniapp,
    providers,
    serve,
    staff,
    telegram,
    up,
)
from cli.common import DataDirOption, prepare

app = typer.Typer(
    help="Webhook pipeline for Telegram-bot businesses.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("up")(up.up)
app.command("receiver")(serve.receiver)
app.command("worker")(serve.worker)
app.command("beat")(serve.beat)
app.command("flower")(serve.flower)
app.command("api")(api.api)
app.command("grpc")(grpc.grpc)
app.add_typer(events.app, name="events")
app.add_typer(providers.app, name="providers")
app.add_typer(business.products_app, name="products")
app.add_typer(business.orders_app, name="orders")
app.command("broadcast")(business.broadcast)
app.add_typer(backup.app, name="backup")
app.add_typer(staff.staff_app, name="staff")
app.add_typer(staff.apikeys_app, name="apikeys")
app.add_typer(knowledge.knowledge_app, name="knowledge")
app.add_typer(telegram.app, name="telegram")
app.add_typer(miniapp.app, name="miniapp")


def _show_version(value: bool) -> None:
    if value:
        from pipeline.version import __version__

        typer.echo(f"pipeline {__version__}")
        raise typer.Exit


@app.callback()
def _options(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Webhook pipeline for Telegram-bot businesses."""


@app.command("migrate")
def migrate(data_dir: Path | None = DataDirOption) -> None:
    """Apply database migrations."""
    from pipeline.migrate import upgrade

    services = prepare("migrate", data_dir, need_broker=False)
    try:
        upgrade(services.database_url)
        typer.echo("migrations: up to date")
    finally:
        services.stop_started()


@app.command("health")
def health() -> None:
    """The whole system's health: database, broker, workers, beat (exit 1 if degraded)."""
    import json

    from adapters.health import system_health
    from pipeline.settings import get_settings

    report = system_health(get_settings())
    typer.echo(json.dumps(report.as_json(), indent=2))
    if not report.healthy:
        raise typer.Exit(1)


def main() -> None:
    app()
