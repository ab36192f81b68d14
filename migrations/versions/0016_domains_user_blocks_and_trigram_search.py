"""operators block bot users (who, when, why); trigram index for text search in event payloads

Revision ID: 0016_domains
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_domains"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant default is metadata-only in PostgreSQL 11+: adding it does not rewrite users.
    op.add_column(
        "users", sa.Column("blocked", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("users", sa.Column("blocked_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("blocked_by", sa.String(length=254), nullable=True))
    op.add_column("users", sa.Column("blocked_reason", sa.String(length=500), nullable=True))


def downgrade() -> None:
    for column in ("blocked_reason", "blocked_by", "blocked_since", "blocked"):
        op.drop_column("users", column)
