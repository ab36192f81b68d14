"""A message to one bot user, queued in the notification outbox by an internal system.

The outbox sender does the rest as for every notification: Telegram's rate limits,
retries, and marking a user who blocked the bot.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from pipeline.i18n.messages import MESSAGES
from pipeline.notifications.outbox import add_notification
from pipeline.notifications.repository import user_by_telegram_id

KIND = "direct"
TEXT_MAX = 4096  # Telegram's limit of one message
DEDUP_MAX = 200


class NotQueued(Exception):
    """The message cannot be queued; `reason` names why for the caller."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Queued:
    notification_id: int | None  # None: the dedup key was used before
    queued: bool


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def check_message(text: str | None, key: str | None, params: Mapping[str, str]) -> None:
    """Raise NotQueued("invalid", ...) for a message that could never be rendered."""
    if (text is None) == (key is None):
        raise NotQueued("invalid", "give either a text or a text key")
    if text is not None:
        if not text.strip() or len(text) > TEXT_MAX:
            raise NotQueued("invalid", f"the text must have 1 to {TEXT_MAX} characters")
        return
    template = MESSAGES.get(key or "")
    if template is None:
        raise NotQueued("invalid", f"unknown text key {key!r}")
    missing = _placeholders(template) - set(params)
    if missing:
        raise NotQueued("invalid", f"text key {key!r} needs params: {', '.join(sorted(missing))}")


def queue_message(
    session: Session,
    telegram_id: int,
    *,
    text: str | None = None,
    key: str | None = None,
    params: Mapping[str, str] | None = None,
    dedup_key: str = "",
) -> Queued:
    """Add the message to the outbox (the caller commits and then wakes the sender)."""
    params = dict(params or {})
    check_message(text, key, params)
    if len(dedup_key) > DEDUP_MAX:
        raise NotQueued("invalid", f"dedup_key is longer than {DEDUP_MAX} characters")
    user = user_by_telegram_id(session, telegram_id)
    if user is None:
        raise NotQueued("not_found", f"no bot user with Telegram id {telegram_id}")
    if not user.is_active:
        raise NotQueued("blocked", "the user blocked the bot")
    if user.blocked:
        raise NotQueued("blocked", "the user is blocked by an operator")
    added = add_notification(
        session,
        dedup_key=f"{KIND}:{dedup_key or secrets.token_hex(16)}",
        chat_id=user.chat_id,
        kind=KIND,
        user_id=user.id,
        template=key,
        params=params if key is not None else None,
        text=text,
    )
    return Queued(added, added is not None)
