"""Operator actions on events shared by the CLI and the API: replay one, retry many.

Each resets events to `received` and commits before queueing them (a lost message leaves
the event `received`, which the sweeper re-dispatches); `queue` sends the process task.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from pipeline.events import repository

Queue = Callable[[int], None]


def retry_selected(
    sessions: sessionmaker[Session],
    selection: repository.Selection,
    queue: Queue,
    *,
    batch: int = 500,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Reset and queue every event of the selection, a batch per transaction."""
    done, last_id = 0, 0
    while True:
        with sessions() as session:
            ids = repository.select_ids(session, selection, last_id, batch)
            if not ids:
                return done
            reset = repository.reset_many(session, ids, selection.statuses)
            session.commit()
        last_id = ids[-1]
        for event_id in reset:
            queue(event_id)
        done += len(reset)
        if on_progress is not None:
            on_progress(done)
