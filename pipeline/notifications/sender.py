"""Delivering outbox rows to Telegram within its limits, from any number of workers.

Each row is claimed with `FOR UPDATE SKIP LOCKED`, sent, and its outcome committed in
its own short unit of work: a crash re-sends at most the one message in flight.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from loguru import logger
from sqlalchemy.orm import Session, sessionmaker

from pipeline import metrics
from pipeline.deps import Deps
from pipeline.i18n import text as render
from pipeline.live import broadcasts as _live_broadcasts  # noqa: F401  (announces progress)
from pipeline.notifications.repository import claim_due
from pipeline.redaction import Redactor
from pipeline.retry import retry_policy
from pipeline.settings import Settings
from pipeline.telegram.api import TelegramError
from pipeline.telegram.limiter import RateLimiter, telegram_limits
from pipeline.unit_of_work import unit_of_work
from schema.messaging import Notification
from schema.users import User

# A chat that must wait longer than this is put back, so other chats go meanwhile.
MAX_INLINE_WAIT_S = 1.5


class Sender(Protocol):
    def send_message(self, chat_id: int, text: str) -> dict[str, object]: ...


def render_notification(session: Session, note: Notification, default_language: str) -> str:
    if note.text is not None:
        return note.text
    user = session.get(User, note.user_id) if note.user_id else None
    lang = user.language if user else default_language
    return render(lang, note.template or "unknown", **note.params)


def _block_user(session: Session, note: Notification, now: datetime) -> None:
    if note.user_id is None:
        return
    user = session.get(User, note.user_id)
    if user is not None and user.is_active:
        user.is_active = False
        user.blocked_at = now


def deliver_one(
    session: Session,
    note: Notification,
    api: Sender,
    limiter: RateLimiter,
    now: datetime,
    settings: Settings,
    redactor: Redactor,
) -> str:
    """Send one claimed row and record the outcome on it (not committed); the status.
    `redactor`: the process's, masking the error kept on the row."""
    user = session.get(User, note.user_id) if note.user_id else None
    if user is not None and note.kind != "alert" and (user.blocked or not user.is_active):
        note.status = "skipped"
        note.last_error = "blocked by an operator" if user.blocked else "user blocked the bot"
        return note.status
    limits = telegram_limits(
        note.chat_id,
        settings.telegram_global_rate,
        settings.telegram_chat_rate,
        settings.telegram_group_rate_per_min,
    )
    waited = limiter.acquire(limits, max_wait_s=MAX_INLINE_WAIT_S)
    if waited != 0:
        metrics.NOTIFICATIONS_THROTTLED.labels(note.kind).inc()
    if waited < 0:
        note.next_attempt_at = now + timedelta(seconds=MAX_INLINE_WAIT_S)
        return note.status
    note.attempts += 1
    try:
        result = api.send_message(
            note.chat_id, render_notification(session, note, settings.default_language)
        )
    except TelegramError as exc:
        note.last_error = redactor.stored_error(str(exc), 500)
        if exc.blocked:
            note.status = "skipped"
            _block_user(session, note, now)
        elif exc.chat_gone:
            note.status = "skipped"
        elif exc.code == 429:
            metrics.NOTIFICATIONS_THROTTLED.labels(note.kind).inc()
            note.attempts -= 1  # our pace, not the message's fault
            note.status = "failed"
            note.next_attempt_at = now + timedelta(seconds=float(exc.retry_after or 1))
        elif exc.retryable and not (policy := retry_policy(settings, "notify")).exhausted(
            note.attempts
        ):
            note.status = "failed"
            note.next_attempt_at = now + timedelta(seconds=policy.delay(note.attempts))
        else:
            note.status = "dead"
        logger.warning("notification {} -> {}: {}", note.id, note.status, exc)
        return note.status
    note.status = "sent"
    note.sent_at = now
    note.last_error = None
    message_id = result.get("message_id") if isinstance(result, dict) else None
    note.telegram_message_id = message_id if isinstance(message_id, int) else None
    return note.status


def send_due(
    sessions: sessionmaker[Session],
    api: Sender,
    limiter: RateLimiter,
    *,
    budget_s: float = 50.0,
    where: Any = None,
    on_result: Callable[[str], None] | None = None,
    deps: Deps,
) -> int:
    """Send due rows until none is left or the time budget is spent; how many were handled.
    `deps`: the process runtime's (its settings, and the Redis client commits announce on)."""
    settings = deps.settings
    started = datetime.now(UTC)
    handled = 0
    while (datetime.now(UTC) - started).total_seconds() < budget_s:
        with unit_of_work(sessions, deps) as uow:
            now = datetime.now(UTC)
            note = claim_due(uow.session, now, where)
            if note is None:
                return handled
            kind = note.kind
            status = deliver_one(uow.session, note, api, limiter, now, settings, deps.redactor)
        if status == "sent":
            metrics.NOTIFICATIONS_SENT.labels(kind).inc()
        elif status in {"failed", "dead", "skipped"}:
            metrics.NOTIFICATIONS_FAILED.labels(kind).inc()
        handled += 1
        if on_result is not None:
            on_result(status)
    return handled
