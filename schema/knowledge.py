"""The shop's own knowledge the assistant answers from, and the record of every AI call."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import Base
from schema.mixins import Timestamps

# The text-search vector of an FAQ entry per language configuration: the question weighs
# more than the answer. Retrieval uses the very same expression, so the GIN index serves it.
KNOWLEDGE_VECTOR = (
    "(setweight(to_tsvector('{config}'::regconfig, question), 'A'::\"char\") || "
    "setweight(to_tsvector('{config}'::regconfig, answer), 'B'::\"char\"))"
)
PRODUCT_VECTOR = (
    "to_tsvector('{config}'::regconfig, (title_{lang}::text || ' '::text) || description_{lang})"
)


class KnowledgeEntry(Timestamps, Base):
    """One FAQ entry: a question and its answer in one language, managed by operators."""

    __tablename__ = "knowledge_entries"
    __table_args__ = (
        Index(
            "ix_knowledge_entries_fts_ru",
            text(KNOWLEDGE_VECTOR.format(config="russian")),
            postgresql_using="gin",
            postgresql_where=text("language = 'ru'"),
        ),
        Index(
            "ix_knowledge_entries_fts_en",
            text(KNOWLEDGE_VECTOR.format(config="english")),
            postgresql_using="gin",
            postgresql_where=text("language = 'en'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8), index=True)  # ru, en
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class AiCall(Base):
    """One call to the AI provider (or one refused by the budget): what it cost and how it
    ended. Never the text itself."""

    __tablename__ = "ai_calls"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    purpose: Mapped[str] = mapped_column(String(16))  # assist, triage
    model: Mapped[str] = mapped_column(String(128))
    tokens_in: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tokens_out: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    latency_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # ok, timeout, rate_limited, server_error, http_error, malformed, budget
    outcome: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
