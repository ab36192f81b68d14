"""Telegram updates for the bot: queued per chat, handled in `update_id` order.

The ingest handler stores each update in `telegram_updates` and, after commit, sends the
chat's task. The task takes a PostgreSQL advisory lock on the chat, so however many
workers run, one chat's updates are handled by one of them at a time, oldest first.
The bot registers its processor here by name (entry point), so workers never import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from loguru import logger
from sqlalchemy import distinct, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from pipeline.domain.context import DomainContext
from pipeline.messaging.queues import TASK_HANDLE_CHAT, TELEGRAM
from pipeline.messaging.tasks import send_task
from schema.telegram import TelegramUpdate

Processor = Callable[[dict[str, Any]], None]
LOCK_NAMESPACE = 0x7467  # "tg": keeps our advisory locks apart from anyone else's
_processor: Processor | None = None


def set_processor(processor: Processor | None) -> None:
    global _processor
    _processor = processor


def chat_of(update: Mapping[str, Any]) -> int:
    """The chat an update belongs to (0: none). Pre-checkout queries go by their user."""
    for key in ("message", "edited_message", "channel_post", "my_chat_member"):
        obj = update.get(key)
        if isinstance(obj, Mapping) and isinstance(obj.get("chat"), Mapping):
            return int(obj["chat"].get("id", 0))
    for key in ("callback_query", "pre_checkout_query", "shipping_query", "inline_query"):
        obj = update.get(key)
        if isinstance(obj, Mapping) and isinstance(obj.get("from"), Mapping):
            return int(obj["from"].get("id", 0))
    return 0


def queue_update(ctx: DomainContext, update: Mapping[str, Any]) -> None:
    chat_id = chat_of(update)
    ctx.session.execute(
        insert(TelegramUpdate)
        .values(update_id=int(update["update_id"]), chat_id=chat_id, payload=dict(update))
        .on_conflict_do_nothing()
    )
    ctx.after_commit(lambda: send_task(TASK_HANDLE_CHAT, TELEGRAM, chat_id))


def pending_chats(session: Session, limit: int = 100) -> list[int]:
    rows = session.execute(
        select(distinct(TelegramUpdate.chat_id))
        .where(TelegramUpdate.status == "pending")
        .limit(limit)
    ).scalars()
    return list(rows)


def handle_chat(sessions: sessionmaker[Session], chat_id: int) -> int | None:
    """Handle the chat's pending updates in order; None when another worker holds it."""
    if _processor is None:
        raise RuntimeError("no bot processor registered (is the bot plugin installed?)")
    handled = 0
    with sessions() as lock_session:
        got: bool = lock_session.execute(
            text("SELECT pg_try_advisory_lock(:ns, :chat)"),
            {"ns": LOCK_NAMESPACE, "chat": chat_id & 0x7FFFFFFF},
        ).scalar_one()
        if not got:
            return None
        try:
            while True:
                with sessions() as session:
                    update = session.execute(
                        select(TelegramUpdate)
                        .where(
                            TelegramUpdate.chat_id == chat_id, TelegramUpdate.status == "pending"
                        )
                        .order_by(TelegramUpdate.update_id)
                        .limit(1)
                    ).scalar_one_or_none()
                    if update is None:
                        return handled
                    try:
                        _processor(update.payload)
                    except Exception as exc:  # a broken update must not block the chat
                        logger.opt(exception=exc).error("update {} failed", update.update_id)
                    update.status = "done"
                    update.handled_at = datetime.now(UTC)
                    session.commit()
                    handled += 1
        finally:
            lock_session.execute(
                text("SELECT pg_advisory_unlock(:ns, :chat)"),
                {"ns": LOCK_NAMESPACE, "chat": chat_id & 0x7FFFFFFF},
            )
            lock_session.commit()


def count_pending(session: Session) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(TelegramUpdate)
            .where(TelegramUpdate.status == "pending")
        ).scalar_one()
    )
