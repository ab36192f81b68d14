"""Event status changes as a stream with a cursor: stamping, announcing, catching up.

A trigger clears `events.updated_seq` on insert and on every status change. `announce_changes`
stamps those rows from the `events_updated_seq` sequence and publishes them, holding one
advisory lock from the stamp until the publish: so cursors are handed out, become visible
and are published in the same order, and "rows with a cursor above N" (the catch-up query)
plus "live messages above N" never leave a gap. Called after commit by the workers and
the API, and by the sweeper for anything a crashed process left unannounced.

Nobody waits for that lock: a caller that finds it taken leaves its rows to the holder,
which looks for committed, unannounced rows after releasing it (a fresh snapshot, so it
sees every commit of a caller that found the lock taken) and goes round again if there
are some. Each step is one statement on an autocommit connection: five round trips for the usual
call (checkout ping, lock, stamp, release, look) where waiting for the lock with a
transaction per step took ten.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from pipeline.deps import Deps
from pipeline.live import repository
from pipeline.live.channel import Topic, announce
from pipeline.live.repository import CHANGE_COLUMNS
from pipeline.live.repository import latest_cursor as latest_cursor  # the catch-up's start

BATCH = 1000


def change_item(row: Any) -> dict[str, Any]:
    """The JSON shape of one change, on the channel and in catch-up alike."""
    item: dict[str, Any] = {}
    for name in (c.strip() for c in CHANGE_COLUMNS.split(",")):
        value = getattr(row, name)
        item[name] = value.isoformat() if isinstance(value, datetime) else value
    item["cursor"] = item.pop("updated_seq")
    return item


# Rounds of lock, stamp, release a call may take on others' behalf before it returns.
MAX_ROUNDS = 10


def _stamp_and_publish(conn: Connection, deps: Deps) -> int:
    total = 0
    while True:
        rows = repository.stamp_changes(conn, BATCH)
        items = sorted((change_item(r) for r in rows), key=lambda i: i["cursor"])
        announce(deps, Topic.EVENTS, items)
        total += len(items)
        if len(rows) < BATCH:
            return total


def _release_and_look(conn: Connection) -> bool:
    """Release the lock, then (a later snapshot) look for rows left to the holder."""
    repository.unlock_announcer(conn)
    return repository.any_unannounced(conn)


def announce_changes(engine: Engine, deps: Deps) -> int:
    """Stamp and publish (on the process's Redis client, `deps.redis`) every committed,
    unannounced status change; how many."""
    total = 0
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for _ in range(MAX_ROUNDS):
            if not repository.try_lock_announcer(conn):
                break  # the holder looks for these rows after its release
            stamped = 0
            try:
                stamped = _stamp_and_publish(conn, deps)
            finally:
                more = _release_and_look(conn)
            total += stamped
            if not more:
                break
    return total


def changes_since(
    session: Session,
    cursor: int,
    *,
    sources: Sequence[str] = (),
    statuses: Sequence[str] = (),
    limit: int = BATCH,
) -> list[dict[str, Any]]:
    """Changes with a cursor above `cursor`, oldest first (the catch-up of a client)."""
    rows = repository.changes_after(session, cursor, sources, statuses, limit)
    return [change_item(r) for r in rows]
