"""operators block bot users (who, when, why); trigram index for text search in event payloads

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from loguru import logger

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The events text search (`GET /events?q=`) filters `payload::text ILIKE '%…%'`; this index
# serves it (pipeline.events.filter_repository uses the same expression).
TRGM_INDEX = "ix_events_payload_trgm"


def _trigrams_available() -> bool:
    """pg_trgm installed here, or installable now (a trusted extension since PostgreSQL
    13: the database owner may create it). Without it the search stays a scan."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar():
        return True
    available = "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'"
    if not bind.execute(sa.text(available)).scalar():
        logger.warning("pg_trgm is not available: event text search keeps scanning")
        return False
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:  # not allowed for this role: leave it to the DBA
        logger.warning("pg_trgm not created ({}): event text search keeps scanning", exc.orig)
        return False
    return True


def upgrade() -> None:
    # A constant default is metadata-only in PostgreSQL 11+: adding it does not rewrite users.
    op.add_column(
        "users", sa.Column("blocked", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.add_column("users", sa.Column("blocked_since", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("blocked_by", sa.String(length=254), nullable=True))
    op.add_column("users", sa.Column("blocked_reason", sa.String(length=500), nullable=True))
    if not _trigrams_available():
        return
    # Built without locking out the receiver's inserts; outside the transaction, as
    # CONCURRENTLY requires. A build that failed half-way leaves an invalid index: drop it.
    with op.get_context().autocommit_block():
        invalid = sa.text(
            "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = :name AND NOT i.indisvalid"
        )
        if op.get_bind().execute(invalid, {"name": TRGM_INDEX}).scalar():
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {TRGM_INDEX}")
        op.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {TRGM_INDEX} "
            "ON events USING gin ((payload::text) gin_trgm_ops)"
        )


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")  # the extension may serve others: kept
    for column in ("blocked_reason", "blocked_by", "blocked_since", "blocked"):
        op.drop_column("users", column)
