"""The `pipeline` command."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.cli import api, backup, business, events, providers, serve, staff, up
from pipeline.cli.common import DataDirOption, prepare

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
app.add_typer(events.app, name="events")
app.add_typer(providers.app, name="providers")
app.add_typer(business.products_app, name="products")
app.add_typer(business.orders_app, name="orders")
app.command("broadcast")(business.broadcast)
app.add_typer(backup.app, name="backup")
app.add_typer(staff.staff_app, name="staff")
app.add_typer(staff.apikeys_app, name="apikeys")


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


def main() -> None:
    app()
