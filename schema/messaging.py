"""What the bot says to people: the notification outbox, feedback relays, broadcasts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import Base
from schema.mixins import Timestamps


class Notification(Timestamps, Base):
    """An outbox row, written in the same transaction as the change it announces and sent
    afterwards by a task. `dedup_key` makes writing it idempotent."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # payment_received, receipt_ready, refund_done, payment_failed, broadcast, alert, ...
    kind: Mapped[str] = mapped_column(String(32))
    # A message template key and its parameters, rendered in the user's language at send
    # time; or ready text (broadcasts, alerts).
    template: Mapped[str | None] = mapped_column(String(64), nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    # pending, sent, failed (will retry), dead, skipped (user blocked / chat gone)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class FeedbackMessage(Timestamps, Base):
    """A user's message relayed to the operators' chat, and replies relayed back."""

    __tablename__ = "feedback_messages"
    __table_args__ = (Index("ix_feedback_messages_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # in (user -> operators), out
    text: Mapped[str] = mapped_column(Text)
    user_chat_id: Mapped[int] = mapped_column(BigInteger)
    user_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    operator_chat_id: Mapped[int] = mapped_column(BigInteger)
    # The relayed copy in the operators' chat: replies to it find the user again.
    operator_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)


class Broadcast(Timestamps, Base):
    """An operator's message to every active user; resumable through its outbox rows."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="running", server_default="running")
    total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
