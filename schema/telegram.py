"""Telegram updates waiting for the bot, kept per chat so they are handled in order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import Base


class TelegramUpdate(Base):
    """One update per `update_id`; the bot task takes a chat's pending ones in order."""

    __tablename__ = "telegram_updates"
    __table_args__ = (Index("ix_telegram_updates_chat_id_status", "chat_id", "status"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # 0 for updates that belong to no chat (inline queries and the like).
    chat_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # pending, done
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
