"""Outbox rows for domain changes, and the after-commit nudge to the sender task."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pipeline.alerts import raise_alert
from pipeline.domain.context import DomainContext
from pipeline.domain.money import exponent
from pipeline.messaging.queues import NOTIFY, TASK_SEND_NOTIFICATIONS
from pipeline.messaging.tasks import send_task
from pipeline.notifications.outbox import add_notification
from pipeline.notifications.repository import insert_notifications
from schema.users import User


def format_amount(minor: int, currency: str) -> str:
    if currency == "XTR":
        return f"{minor} ⭐"
    places = exponent(currency)
    return f"{Decimal(minor).scaleb(-places):.{places}f} {currency}"


def kick_sender(ctx: DomainContext) -> None:
    """Ask the sender task to run once this transaction committed. Extra runs are cheap:
    the task drains whatever is due."""
    sender = ctx.deps.sender
    ctx.after_commit(lambda: send_task(sender, TASK_SEND_NOTIFICATIONS, NOTIFY))


def notify_user(
    ctx: DomainContext, user: User, dedup_key: str, template: str, params: dict[str, Any]
) -> None:
    added = add_notification(
        ctx.session,
        dedup_key=dedup_key,
        chat_id=user.chat_id,
        user_id=user.id,
        kind=template,
        template=template,
        params=params,
    )
    if added is not None:
        kick_sender(ctx)


def user_notification(
    user: User, dedup_key: str, template: str, params: dict[str, Any]
) -> dict[str, Any]:
    """The outbox row `notify_user` adds, for adding many at once (`queue_notifications`)."""
    return {
        "dedup_key": dedup_key,
        "chat_id": user.chat_id,
        "user_id": user.id,
        "kind": template,
        "template": template,
        "params": params,
        "text": None,
    }


def queue_notifications(ctx: DomainContext, rows: list[dict[str, Any]]) -> None:
    """Add the rows whose dedup key is new in one statement; one nudge to the sender."""
    if insert_notifications(ctx.session, rows):
        kick_sender(ctx)


def alert_operators(ctx: DomainContext, key: str, text: str) -> None:
    """Raise the operators' alert `key` (repeats within the cooldown are folded)."""
    if raise_alert(ctx.session, key, text, settings=ctx.deps.settings, redactor=ctx.deps.redactor):
        kick_sender(ctx)
