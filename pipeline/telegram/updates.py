"""Telegram updates for the bot: queued per chat, handled in `update_id` order.

The ingest handler stores each update in `telegram_updates` and, after commit, sends the
chat's task. The task takes a PostgreSQL advisory lock on the chat, so however many
workers run, one chat's updates are handled by one of them at a time, oldest first.
The bot offers its processor through its plugin (entry point `pipeline.handlers`, its
`update_processor(settings, redactor)`, with the worker process's Redactor), so workers
never import it; the worker's runtime makes it once and passes it to `handle_chat`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from loguru import logger
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.domain.context import DomainContext
from pipeline.messaging.queues import TASK_HANDLE_CHAT, TELEGRAM
from pipeline.messaging.tasks import send_task
from pipeline.telegram.repository import UpdateQueue
from pipeline.unit_of_work import unit_of_work

# Feeds one update to the bot; the worker's runtime holds the bot plugin's.
Processor = Callable[[dict[str, Any]], None]


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
    UpdateQueue(ctx.session).add(int(update["update_id"]), chat_id, update)
    sender = ctx.deps.sender
    ctx.after_commit(lambda: send_task(sender, TASK_HANDLE_CHAT, TELEGRAM, chat_id))


def pending_chats(session: Session, limit: int = 100) -> list[int]:
    return UpdateQueue(session).pending_chats(limit)


def handle_chat(
    sessions: sessionmaker[Session],
    chat_id: int,
    processor: Processor | None,
    deps: Deps,
) -> int | None:
    """Handle the chat's pending updates in order; None when another worker holds it.
    `deps`: the worker runtime's."""
    if processor is None:
        raise RuntimeError("no bot processor registered (is the bot plugin installed?)")
    handled = 0
    with sessions() as lock_session:
        lock = UpdateQueue(lock_session)
        if not lock.try_lock_chat(chat_id):
            return None
        try:
            while True:
                with unit_of_work(sessions, deps) as uow:
                    update = UpdateQueue(uow.session).oldest_pending(chat_id)
                    if update is None:
                        return handled
                    try:
                        processor(update.payload)
                    except Exception as exc:  # a broken update must not block the chat
                        logger.opt(exception=exc).error("update {} failed", update.update_id)
                    UpdateQueue.mark_done(update)
                handled += 1
        finally:
            lock.unlock_chat(chat_id)


def count_pending(session: Session) -> int:
    return UpdateQueue(session).count_pending()
