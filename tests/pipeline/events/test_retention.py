"""Raw-body retention walks the events table by id ranges: every statement it issues is
bounded by the primary key or an index, and none plans a sequential scan of events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.events.retention import prune_raw_bodies
from schema.events import Event

OLD = 6000  # processed 60 days ago
RECENT = 3000  # processed now


def fill(engine: Engine) -> None:
    """Old processed and ignored events, old failed ones, recent processed ones."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO events (source, type, external_id, status, attempts, duplicates, "
                "payload, raw_body, headers, received_at, processed_at) "
                "SELECT 'stripe', 't', 'e' || g, "
                "CASE WHEN g % 10 = 0 THEN 'failed' WHEN g % 10 = 1 THEN 'ignored' "
                "ELSE 'processed' END, 1, 0, '{}'::jsonb, '\\x7b7d'::bytea, '{}'::jsonb, "
                "now() - make_interval(days => CASE WHEN g <= :old THEN 60 ELSE 0 END), "
                "CASE WHEN g % 10 = 0 THEN NULL "
                "ELSE now() - make_interval(days => CASE WHEN g <= :old THEN 60 ELSE 0 END) END "
                "FROM generate_series(1, :total) g"
            ),
            {"old": OLD, "total": OLD + RECENT},
        )
        conn.execute(text("ANALYZE events"))


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_old_raw_bodies_are_pruned_by_id_ranges_without_scanning_events(
    db: sessionmaker[Session], engine: Engine, statements: list[tuple[str, Any]]
) -> None:
    fill(engine)
    statements.clear()
    batches: list[tuple[int, int]] = []
    cutoff = datetime.now(UTC) - timedelta(days=30)
    pruned = prune_raw_bodies(
        db, Deps.build(), cutoff, window=500, on_batch=lambda *b: batches.append(b)
    )
    issued = list(statements)

    assert pruned == OLD - OLD // 10  # the failed tenth keeps its body
    assert len(batches) == OLD // 500  # the walk ends at the last old event
    with db() as session:
        kept = session.execute(
            select(Event.status, Event.received_at < cutoff).where(Event.raw_body.is_not(None))
        ).all()
    assert len(kept) == RECENT + OLD // 10
    assert all(status == "failed" or not old for status, old in kept)

    updates = [(s, p) for s, p in issued if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == len(batches)
    with engine.connect() as conn:
        for statement, parameters in issued:
            if "events" not in statement:
                continue
            if statement in (s for s, _ in updates):
                assert "events.id >= " in statement and "events.id < " in statement
            plan = "\n".join(
                row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)
            )
            assert "Seq Scan on events" not in plan, (statement, plan)
