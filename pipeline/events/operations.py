"""Operator actions on events shared by the CLI and the API: replay one, retry many.

Each resets events to `received` and commits before queueing them (a lost message leaves
the event `received`, which the sweeper re-dispatches); the process task goes through the
caller's task sender.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.events import repository
from pipeline.messaging.queues import INGEST, TASK_PROCESS_EVENT
from pipeline.messaging.tasks import TaskSender
from pipeline.unit_of_work import unit_of_work


def send_process(sender: TaskSender, event_ids: Sequence[int]) -> None:
    """The process task of each event, in one go where the broker allows (one pipelined
    round trip on Redis); raises when the broker refuses them."""
    sender.send_many(TASK_PROCESS_EVENT, INGEST, [[event_id] for event_id in event_ids])


def retry_selected(
    sessions: sessionmaker[Session],
    deps: Deps,
    selection: repository.Selection,
    sender: TaskSender,
    *,
    batch: int = 500,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Reset and queue every event of the selection, a batch per transaction."""
    done, last_id = 0, 0
    while True:
        with unit_of_work(sessions, deps) as uow:
            ids = repository.select_ids(uow.session, selection, last_id, batch)
            if not ids:
                return done
            reset = repository.reset_many(uow.session, ids, selection.statuses)
        last_id = ids[-1]
        if reset:  # not a job: a failed send must stop the run, not be logged
            send_process(sender, reset)
        done += len(reset)
        if on_progress is not None:
            on_progress(done)
