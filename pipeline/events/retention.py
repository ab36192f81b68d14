"""Retention of raw bodies: walk the events table by primary-key ranges, never scan it.

A batch is one UPDATE over `id >= low AND id < high`: PostgreSQL reads that range through
the primary key and holds the locks of at most `size` rows for a short transaction, so
ingest goes on beside it. The walk ends at the newest event received before the cutoff
(found through the `received_at` index), since an event is processed after it is received.
Ids follow arrival closely; an event stored long after it was received (a broker outage)
may lie past that bound and is pruned by a later run, once the bound has moved past it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.events.retention_repository import id_bounds, prune_window
from pipeline.unit_of_work import unit_of_work

WINDOW = 5000  # ids per batch


def prune_raw_bodies(
    sessions: sessionmaker[Session],
    deps: Deps,
    older_than: datetime,
    *,
    window: int = WINDOW,
    on_batch: Callable[[int, int], None] | None = None,
) -> int:
    """Every window in its own transaction; `on_batch(last id, pruned)` after each."""
    with sessions() as session:
        bounds = id_bounds(session, older_than)
    if bounds is None:
        return 0
    low, last = bounds
    total = 0
    while low <= last:
        high = min(low + window, last + 1)
        with unit_of_work(sessions, deps) as uow:
            pruned = prune_window(uow.session, older_than, low, high)
        total += pruned
        if on_batch is not None:
            on_batch(high - 1, pruned)
        low = high
    return total
