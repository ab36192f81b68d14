"""`pipeline telegram setup|info`: what Telegram knows of the bot, and setting it."""

from __future__ import annotations

import json

import typer

from pipeline.settings import get_settings
from pipeline.telegram.api import BotApi, NoBotToken, TelegramError
from pipeline.telegram.setup import info as read_info
from pipeline.telegram.setup import set_up

app = typer.Typer(help="The bot's settings at Telegram.", no_args_is_help=True)


def _bot() -> BotApi:
    try:
        return BotApi(get_settings())
    except NoBotToken:
        typer.echo("TELEGRAM_BOT_TOKEN is not set", err=True)
        raise typer.Exit(2) from None


@app.command("setup")
def setup() -> None:
    """Set the webhook, commands and descriptions (ru/en) and the Mini App menu button."""
    get_settings.cache_clear()
    try:
        for line in set_up(_bot(), get_settings()):
            typer.echo(line)
    except (TelegramError, ValueError) as exc:
        typer.echo(f"telegram setup failed: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command("info")
def info() -> None:
    """Show getMe, getWebhookInfo and getChatMenuButton as JSON."""
    get_settings.cache_clear()
    try:
        typer.echo(json.dumps(read_info(_bot()), indent=2, ensure_ascii=False))
    except TelegramError as exc:
        typer.echo(f"telegram info failed: {exc}", err=True)
        raise typer.Exit(1) from None
