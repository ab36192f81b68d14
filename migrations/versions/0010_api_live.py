"""api and live updates: event change cursor, list indexes, product translations,
backup verification results

Revision ID: 0010
Revises: 0009

`events.updated_seq` is the cursor of "changes since": a trigger clears it whenever a
row is inserted or its status changes, and the publisher (`pipeline.live.publish`)
stamps the cleared rows from `events_updated_seq` in commit order before announcing
them (see docs/architecture.md, "Live updates").
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGER_FUNCTION = """
CREATE FUNCTION events_mark_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
        NEW.updated_seq := NULL;
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    op.execute("CREATE SEQUENCE events_updated_seq AS bigint")
    op.add_column("events", sa.Column("updated_seq", sa.BigInteger(), nullable=True))
    op.create_index("ix_events_updated_seq", "events", ["updated_seq"])
    op.create_index(
        "ix_events_unpublished",
        "events",
        ["id"],
        postgresql_where=sa.text("updated_seq IS NULL"),
    )
    # Keyset pages run newest first (id DESC) under each filter.
    op.create_index("ix_events_source_id", "events", ["source", "id"])
    op.create_index("ix_events_status_id", "events", ["status", "id"])
    op.create_index("ix_events_source_status_id", "events", ["source", "status", "id"])
    op.create_index("ix_events_type_id", "events", ["type", "id"])
    op.create_index("ix_events_external_id", "events", ["external_id"])
    op.execute(TRIGGER_FUNCTION)
    op.execute(
        "CREATE TRIGGER events_mark_changed BEFORE INSERT OR UPDATE OF status ON events "
        "FOR EACH ROW EXECUTE FUNCTION events_mark_changed()"
    )
    op.add_column(
        "products",
        sa.Column(
            "translations",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.create_index("ix_feedback_messages_created_at", "feedback_messages", ["created_at"])
    op.add_column(
        "backup_runs", sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("backup_runs", sa.Column("verify_error", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("backup_runs", "verify_error")
    op.drop_column("backup_runs", "verified_at")
    op.drop_index("ix_feedback_messages_created_at", table_name="feedback_messages")
    op.drop_column("products", "translations")
    op.execute("DROP TRIGGER events_mark_changed ON events")
    op.execute("DROP FUNCTION events_mark_changed()")
    for name in (
        "ix_events_external_id",
        "ix_events_type_id",
        "ix_events_source_status_id",
        "ix_events_status_id",
        "ix_events_source_id",
        "ix_events_unpublished",
        "ix_events_updated_seq",
    ):
        op.drop_index(name, table_name="events")
    op.drop_column("events", "updated_seq")
    op.execute("DROP SEQUENCE events_updated_seq")
