"""Writing outbox rows. Call inside the transaction of the change being announced; a
sender task delivers them after commit, within Telegram's limits."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pipeline.notifications.repository import insert_notifications


def add_notification(
    session: Session,
    *,
    dedup_key: str,
    chat_id: int,
    kind: str,
    user_id: int | None = None,
    template: str | None = None,
    params: dict[str, Any] | None = None,
    text: str | None = None,
) -> int | None:
    """Add a notification once per `dedup_key`; returns its id, or None if it existed."""
    if (template is None) == (text is None):
        raise ValueError("give either a template or a ready text")
    row = {
        "dedup_key": dedup_key,
        "chat_id": chat_id,
        "kind": kind,
        "user_id": user_id,
        "template": template,
        "params": params or {},
        "text": text,
    }
    return insert_notifications(session, [row]).get(dedup_key)
