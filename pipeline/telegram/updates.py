"""Telegram updates for the bot: queued per chat, handled in `update_id` order.

The ingest handler stores each update in `telegram_updates` and, after commit, sends the
chat's task. The task takes a PostgreSQL advisory lock on the chat, so however many
workers run, one chat's updates are handled by one of them at a time, oldest first.
The bot offers its processor through its plugin (entry point `pipeline.handlers`, its
`update_processor(deps)`, given the worker process's `Deps`), so workers never import it;
the worker's runtime makes it once and passes it to `handle_chat`. A processor with a
`close()` is closed with the runtime. A plugin still offering the older
`update_processor(settings, redactor)` is called that way, with a deprecation warning.
"""

from __future__ import annotations

import inspect
import warnings
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


def plugin_processor(name: str, factory: Callable[..., Processor], deps: Deps) -> Processor:
    """The processor a handler plugin's `update_processor` makes for this process: given
    the process's `deps`, or its settings and Redactor when the hook is the older one."""
    if takes_deps(factory):
        return factory(deps)
    message = (
        f"plugin {name}: update_processor(settings, redactor) is deprecated; "
        "take the worker's Deps instead: update_processor(deps)"
    )
    # Once per runtime, so once per process: logged for operators (the warnings module
    # hides DeprecationWarning outside __main__) and warned for test runs and linters.
    logger.warning(message)
    warnings.warn(message, DeprecationWarning, stacklevel=2)
    return factory(deps.settings, deps.redactor)


def takes_deps(factory: Callable[..., Any]) -> bool:
    """Whether `update_processor` is the current hook, `(deps)`, and not the older
    `(settings, redactor)`: two required positional parameters, or a first one named
    `settings`. A signature that cannot be read is taken for the current hook."""
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return True
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    positional = [p for p in params if p.kind in kinds]
    required = [p for p in positional if p.default is inspect.Parameter.empty]
    if len(required) >= 2:
        return False
    return not (positional and positional[0].name == "settings")


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
