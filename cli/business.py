"""`pipeline broadcast` and `pipeline products import`: operator commands."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from cli.runtime import cli_runtime
from pipeline.unit_of_work import unit_of_work

products_app = typer.Typer(help="The product catalogue.", no_args_is_help=True)
orders_app = typer.Typer(help="Orders: refunds.", no_args_is_help=True)


def broadcast(
    text: str = typer.Option(..., "--text", help="The message to send."),
    lang: str | None = typer.Option(None, "--lang", help="Only users with this language (ru|en)."),
) -> None:
    """Send a message to every active user at the shared rate; re-run to resume."""
    from pipeline.notifications import broadcast as service
    from pipeline.telegram.api import BotApi
    from pipeline.telegram.limiter import RateLimiter

    if lang not in (None, "ru", "en"):
        raise typer.BadParameter("--lang must be ru or en")
    with cli_runtime() as runtime:
        with unit_of_work(runtime.sessions, runtime.deps) as uow:
            item = service.start(uow.session, text, lang)
        typer.echo(f"broadcast {item.id}: {item.total} recipients", err=True)
        limiter = RateLimiter(runtime.deps.redis)
        progress = service.run(
            runtime.sessions, item.id, BotApi(runtime.settings), limiter, runtime.deps
        )
    typer.echo(f"broadcast {item.id}: sent {progress.sent} of {progress.done} handled")


@products_app.command("import")
def import_products(path: Path) -> None:
    """Upsert products from a JSON list (code, title_ru, title_en, price_minor, ...)."""
    from pipeline.cache import Cache
    from pipeline.shop.catalog import import_products as import_into
    from pipeline.shop.images import check_image_url

    items = json.loads(path.read_text())
    for index, item in enumerate(items):
        if "image_url" not in item:
            continue  # an import without photos keeps those set in the console
        try:
            item["image_url"] = check_image_url(item["image_url"])
        except ValueError as exc:
            typer.echo(f"products[{index}] ({item.get('code')}): {exc}", err=True)
            raise typer.Exit(2) from None
    with cli_runtime() as runtime, unit_of_work(runtime.sessions, runtime.deps) as uow:
        try:
            cache: Cache | None = Cache.of(runtime.deps.redis, runtime.settings)
        except RuntimeError:  # REDIS_URL is not Redis: the API, which caches, needs it
            cache = None
        import_into(uow, cache, items)
    typer.echo(f"products: {len(items)} imported")


@orders_app.command("refund")
def refund(public_id: str) -> None:
    """Refund an order: Stars via refundStarPayment; YooKassa, Stripe, CloudPayments,
    T-Bank and Robokassa via their APIs."""
    from pipeline.events.errors import PermanentError, TransientError
    from pipeline.payments import refunds
    from pipeline.telegram.api import NoBotToken, TelegramError

    try:
        # After the commit: the user's notification and the refund receipt.
        with (
            cli_runtime() as runtime,
            unit_of_work(runtime.sessions, runtime.deps) as uow,
        ):
            clients = refunds.http_refund_clients(runtime.deps)
            status = refunds.refund_order(uow, public_id, clients)
    except (
        refunds.RefundError,
        TelegramError,
        NoBotToken,
        PermanentError,
        TransientError,
    ) as exc:
        typer.echo(f"order {public_id}: not refunded: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"order {public_id}: payment {status}")
