"""The SQL of the Telegram update queue (`telegram_updates`) and its per-chat lock."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import distinct, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from schema.telegram import TelegramUpdate

LOCK_NAMESPACE = 0x7467  # "tg": keeps our advisory locks apart from anyone else's


def _lock_key(chat_id: int) -> dict[str, int]:
    return {"ns": LOCK_NAMESPACE, "chat": chat_id & 0x7FFFFFFF}


class UpdateQueue:
    """One session's view of the queue; the caller commits."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, update_id: int, chat_id: int, payload: Mapping[str, Any]) -> None:
        """Stored once: Telegram's retries of the same update are ignored."""
        self.session.execute(
            insert(TelegramUpdate)
            .values(update_id=update_id, chat_id=chat_id, payload=dict(payload))
            .on_conflict_do_nothing()
        )

    def pending_chats(self, limit: int) -> list[int]:
        stmt = (
            select(distinct(TelegramUpdate.chat_id))
            .where(TelegramUpdate.status == "pending")
            .limit(limit)
        )
        return list(self.session.execute(stmt).scalars())

    def oldest_pending(self, chat_id: int) -> TelegramUpdate | None:
        stmt = (
            select(TelegramUpdate)
            .where(TelegramUpdate.chat_id == chat_id, TelegramUpdate.status == "pending")
            .order_by(TelegramUpdate.update_id)
            .limit(1)
        )
        return self.session.execute(stmt).scalar_one_or_none()

    @staticmethod
    def mark_done(update: TelegramUpdate) -> None:
        update.status = "done"
        update.handled_at = datetime.now(UTC)

    def count_pending(self) -> int:
        stmt = (
            select(func.count())
            .select_from(TelegramUpdate)
            .where(TelegramUpdate.status == "pending")
        )
        return int(self.session.execute(stmt).scalar_one())

    def try_lock_chat(self, chat_id: int) -> bool:
        """A session-level advisory lock: held until `unlock_chat`, whatever commits."""
        stmt = text("SELECT pg_try_advisory_lock(:ns, :chat)")
        return bool(self.session.execute(stmt, _lock_key(chat_id)).scalar_one())

    def unlock_chat(self, chat_id: int) -> None:
        self.session.execute(text("SELECT pg_advisory_unlock(:ns, :chat)"), _lock_key(chat_id))
        self.session.commit()  # the lock session's own statement; nothing else is in it
