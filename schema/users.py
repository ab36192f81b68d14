"""Bot users: one row per Telegram user who talked to the bot."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, String, false
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import Base
from schema.mixins import Timestamps


class User(Timestamps, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    # Private chats have the user's id as chat id; kept apart for clarity.
    chat_id: Mapped[int] = mapped_column(BigInteger)
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    first_name: Mapped[str | None] = mapped_column(String(128), nullable=True)
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # False once the user blocked the bot (Telegram answered 403); true again on /start.
    # `blocked_at` is when that happened.
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    blocked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Blocked by an operator (a ban): the bot ignores the user's updates, broadcasts and
    # notifications skip them, the Mini App refuses them. Unrelated to `is_active`, which
    # says whether Telegram lets the bot write to them.
    blocked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    blocked_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    blocked_by: Mapped[str | None] = mapped_column(String(254), nullable=True)
    blocked_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
