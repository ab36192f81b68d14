"""event text search reads a write-once copy of each payload's text, not the events rows

Revision ID: 0019
Revises: 0018

The trigram index on `events (payload::text)` re-read every payload on each new row
version: an event is inserted, its outcome written and its live cursor stamped, three
versions, none of them HOT (status and updated_seq are indexed), so every payload's
trigrams were extracted and inserted three times. That was half of PostgreSQL's CPU time
per event on the payments path (0.87 ms -> 0.44 ms per event without it). The text now
lives in `event_search_texts`, one row per event written once by a trigger when the event
is inserted (and again only if its payload is replaced), and the trigram index is on it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from loguru import logger

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_INDEX = "ix_events_payload_trgm"
INDEX = "ix_event_search_texts_body_trgm"
# Rows copied per transaction when the table is filled from existing events.
BACKFILL_WINDOW = 20_000

TRIGGER_FUNCTION = """
CREATE FUNCTION events_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(jsonb_typeof(NEW.payload), 'null') = 'null' THEN
        -- No payload, or JSON null (what an ORM None writes): nothing to search in.
        DELETE FROM event_search_texts WHERE event_id = NEW.id;
    ELSE
        INSERT INTO event_search_texts (event_id, body) VALUES (NEW.id, NEW.payload::text)
        ON CONFLICT (event_id) DO UPDATE SET body = EXCLUDED.body;
    END IF;
    RETURN NULL;
END
$$
"""


def _has_trigrams() -> bool:
    """Migration 0017 created pg_trgm where it could be had."""
    found = "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"
    return bool(op.get_bind().execute(sa.text(found)).scalar())


def upgrade() -> None:
    op.create_table(
        "event_search_texts",
        sa.Column(
            "event_id",
            sa.BigInteger(),
            sa.ForeignKey("events.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("body", sa.Text(), nullable=False),
    )
    trigrams = _has_trigrams()
    if trigrams:
        # On an empty table: the events written from now on are indexed as they come.
        op.execute(f"CREATE INDEX {INDEX} ON event_search_texts USING gin (body gin_trgm_ops)")
    else:
        logger.warning("pg_trgm is not installed: event text search keeps scanning")
    op.execute(TRIGGER_FUNCTION)
    op.execute(
        "CREATE TRIGGER events_search_text_inserted AFTER INSERT ON events "
        "FOR EACH ROW WHEN (jsonb_typeof(NEW.payload) <> 'null') "
        "EXECUTE FUNCTION events_search_text()"
    )
    op.execute(
        "CREATE TRIGGER events_search_text_replaced AFTER UPDATE OF payload ON events "
        "FOR EACH ROW WHEN (OLD.payload IS DISTINCT FROM NEW.payload) "
        "EXECUTE FUNCTION events_search_text()"
    )
    # Existing events, in windows of ids each committed on its own, so a large table is
    # not one long transaction; the old index goes last, without blocking the inserts.
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        top = bind.execute(sa.text("SELECT coalesce(max(id), 0) FROM events")).scalar() or 0
        for low in range(0, int(top) + 1, BACKFILL_WINDOW):
            bind.execute(
                sa.text(
                    "INSERT INTO event_search_texts (event_id, body) "
                    "SELECT id, payload::text FROM events "
                    "WHERE id >= :low AND id < :high "
                    "AND jsonb_typeof(payload) <> 'null' "
                    "ON CONFLICT (event_id) DO NOTHING"
                ),
                {"low": low, "high": low + BACKFILL_WINDOW},
            )
        if top:
            logger.info("event search texts copied for events up to id {}", top)
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {OLD_INDEX}")


def downgrade() -> None:
    op.execute("DROP TRIGGER events_search_text_replaced ON events")
    op.execute("DROP TRIGGER events_search_text_inserted ON events")
    op.execute("DROP FUNCTION events_search_text()")
    op.drop_table("event_search_texts")
    if _has_trigrams():
        op.execute(
            f"CREATE INDEX IF NOT EXISTS {OLD_INDEX} "
            "ON events USING gin ((payload::text) gin_trgm_ops)"
        )
