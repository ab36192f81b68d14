"""The `events` inbox: every accepted webhook, stored once per (source, external_id)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import Base


class EventStatus(enum.StrEnum):
    """Statuses other transactions can see. An event being handled stays `received` (or
    `failed`) under its row lock until the handler's outcome commits: a worker that dies
    mid-handler leaves it exactly as the sweep expects to find it."""

    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"  # stored, no handler for its (source, type)
    FAILED = "failed"  # will be retried
    DEAD = "dead"  # retries exhausted or a permanent error; can be replayed


TERMINAL_STATUSES = frozenset({EventStatus.PROCESSED, EventStatus.IGNORED, EventStatus.DEAD})
_STATUS_LIST = ", ".join(f"'{s.value}'" for s in EventStatus)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        CheckConstraint(f"status IN ({_STATUS_LIST})", name="status_known"),
        Index("ix_events_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_events_received_at", "received_at"),
        # The API's keyset pages (newest first) under each filter.
        Index("ix_events_source_id", "source", "id"),
        Index("ix_events_status_id", "status", "id"),
        Index("ix_events_source_status_id", "source", "status", "id"),
        Index("ix_events_type_id", "type", "id"),
        Index("ix_events_external_id", "external_id"),
        # Live updates: "changes since" and the rows still to be announced.
        Index("ix_events_updated_seq", "updated_seq"),
        Index("ix_events_unpublished", "id", postgresql_where=text("updated_seq IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(128))
    external_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.RECEIVED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    duplicates: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    raw_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    headers: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict, server_default="{}")
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Cursor of live updates: cleared by a trigger on insert and on every status change,
    # stamped from the `events_updated_seq` sequence in commit order when announced.
    updated_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class EventSearchText(Base):
    """The text event search (`?q=`, pipeline.events.filter_repository) looks in: each payload's
    JSON as text, written once by a trigger when its event is inserted (again only if the
    payload is replaced; migration 0019). Kept apart from `events`, whose rows get a new
    version at each status change, so the trigram index reads each payload once."""

    __tablename__ = "event_search_texts"
    __table_args__ = (
        # Needs pg_trgm; migration 0019 leaves it out where the extension cannot be had.
        Index(
            "ix_event_search_texts_body_trgm",
            "body",
            postgresql_using="gin",
            postgresql_ops={"body": "gin_trgm_ops"},
        ),
    )

    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    body: Mapped[str] = mapped_column(Text)
