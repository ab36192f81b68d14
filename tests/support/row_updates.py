"""Which `events` rows a step updated, logged by a trigger: a row written once (inserted,
never updated) has one version; every UPDATE, an upsert's included, leaves another."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text

_INSTALL = (
    "CREATE TABLE test_event_updates "
    "(n bigserial PRIMARY KEY, external_id text, old_status text, new_status text)",
    """
    CREATE FUNCTION test_log_event_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO test_event_updates (external_id, old_status, new_status)
        VALUES (NEW.external_id, OLD.status, NEW.status);
      RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER test_log_event_update AFTER UPDATE ON events "
    "FOR EACH ROW EXECUTE FUNCTION test_log_event_update()",
)
_REMOVE = (
    "DROP TRIGGER IF EXISTS test_log_event_update ON events",
    "DROP FUNCTION IF EXISTS test_log_event_update()",
    "DROP TABLE IF EXISTS test_event_updates",
)


class RowUpdates:
    """(external_id, old status, new status) of each row update committed since the last
    `take`, in order; a rolled-back transaction's updates leave the log with it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def take(self) -> list[tuple[str, str, str]]:
        with self.engine.begin() as conn:
            rows = conn.execute(
                text(
                    "DELETE FROM test_event_updates RETURNING n, external_id, old_status, "
                    "new_status"
                )
            ).all()
        return [(r.external_id, r.old_status, r.new_status) for r in sorted(rows)]


@contextmanager
def row_updates(engine: Engine) -> Iterator[RowUpdates]:
    """The trigger and its log for the `with` block: `with row_updates(engine) as log:`."""
    with engine.begin() as conn:
        # Whatever a killed run left behind goes first.
        for statement in (*_REMOVE, *_INSTALL):
            conn.execute(text(statement))
    try:
        yield RowUpdates(engine)
    finally:
        with engine.begin() as conn:
            for statement in _REMOVE:
                conn.execute(text(statement))
