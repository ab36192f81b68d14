"""`pipeline miniapp dev-link`: open the Mini App in an ordinary browser, as a test user."""

from __future__ import annotations

from urllib.parse import quote

import typer

from pipeline.miniapp.config import miniapp_url
from pipeline.miniapp.signing import sign_init_data
from pipeline.settings import get_settings

app = typer.Typer(help="The Telegram Mini App.", no_args_is_help=True)


@app.command("dev-link")
def dev_link(
    user_id: int = typer.Option(..., "--user-id", min=1, help="The Telegram user id to act as."),
    first_name: str = typer.Option("Test", help="The user's first name."),
    language: str = typer.Option("en", help="The user's Telegram language code."),
) -> None:
    """Print a /app/ URL carrying initData signed with TELEGRAM_BOT_TOKEN (a test bot's:
    whoever has the link acts as that user until the initData is too old)."""
    get_settings.cache_clear()
    settings = get_settings()
    if settings.telegram_bot_token is None:
        typer.echo("TELEGRAM_BOT_TOKEN is not set", err=True)
        raise typer.Exit(2)
    try:
        url = miniapp_url(settings)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    user = {"id": user_id, "first_name": first_name, "language_code": language}
    init_data = sign_init_data(settings.telegram_bot_token.get_secret_value(), user)
    # Where Telegram itself puts it: telegram-web-app.js (and the page, offline) read it.
    typer.echo(f"{url}#tgWebAppData={quote(init_data, safe='')}&tgWebAppVersion=8.0")
