"""knowledge: FAQ entries with full-text indexes, AI call records, feedback triage

Revision ID: 0013
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KNOWLEDGE_VECTOR = (
    "(setweight(to_tsvector('{config}'::regconfig, question), 'A'::\"char\") || "
    "setweight(to_tsvector('{config}'::regconfig, answer), 'B'::\"char\"))"
)
PRODUCT_VECTOR = (
    "to_tsvector('{config}'::regconfig, (title_{lang}::text || ' '::text) || description_{lang})"
)


def upgrade() -> None:
    op.create_table(
        "knowledge_entries",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column(
            "tags", postgresql.ARRAY(sa.String(length=64)), server_default="{}", nullable=False
        ),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_entries")),
    )
    op.create_index(
        op.f("ix_knowledge_entries_language"), "knowledge_entries", ["language"], unique=False
    )
    for lang, config in (("ru", "russian"), ("en", "english")):
        op.create_index(
            f"ix_knowledge_entries_fts_{lang}",
            "knowledge_entries",
            [sa.text(KNOWLEDGE_VECTOR.format(config=config))],
            postgresql_using="gin",
            postgresql_where=sa.text(f"language = '{lang}'"),
        )
        op.create_index(
            f"ix_products_fts_{lang}",
            "products",
            [sa.text(PRODUCT_VECTOR.format(config=config, lang=lang))],
            postgresql_using="gin",
        )
    op.create_table(
        "ai_calls",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("tokens_in", sa.Integer(), server_default="0", nullable=False),
        sa.Column("tokens_out", sa.Integer(), server_default="0", nullable=False),
        sa.Column("latency_ms", sa.Integer(), server_default="0", nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_calls")),
    )
    op.create_index(op.f("ix_ai_calls_at"), "ai_calls", ["at"], unique=False)
    op.add_column(
        "feedback_messages",
        sa.Column("triage", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("feedback_messages", "triage")
    op.drop_index(op.f("ix_ai_calls_at"), table_name="ai_calls")
    op.drop_table("ai_calls")
    op.drop_index("ix_products_fts_en", table_name="products")
    op.drop_index("ix_products_fts_ru", table_name="products")
    op.drop_index("ix_knowledge_entries_fts_en", table_name="knowledge_entries")
    op.drop_index("ix_knowledge_entries_fts_ru", table_name="knowledge_entries")
    op.drop_index(op.f("ix_knowledge_entries_language"), table_name="knowledge_entries")
    op.drop_table("knowledge_entries")
