"""Retries due within 30 s ride a countdown message; later ones are the database's and the
sweeper sends them as soon as they are due, without the grace meant for lost messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from pipeline.events.schedule import RETRY_MESSAGE_MAX_S, has_retry_message
from pipeline.messaging.queues import INGEST
from schema.events import Event
from schema.operations import EventAttempt
from tests.pipeline.conftest import drain_ids
from tests.support.broker import purge
from tests.support.events import add_events


def failed_with_delay(
    db: sessionmaker[Session], prefix: str, delay_s: float, due_ago_s: float
) -> int:
    """A failed event whose last attempt set a retry `delay_s` later, due `due_ago_s` ago."""
    (event_id,) = add_events(db, 1, status="failed", prefix=prefix)
    due = datetime.now(UTC) - timedelta(seconds=due_ago_s)
    with db() as session:
        event = session.get(Event, event_id)
        assert event is not None
        event.next_attempt_at = due
        session.add(
            EventAttempt(
                event_id=event_id,
                attempt=event.attempts,
                outcome="failed",
                error="boom",
                at=due - timedelta(seconds=delay_s),
            )
        )
        session.commit()
    return event_id


def test_long_retries_are_sent_when_due_short_ones_after_the_grace(
    db: sessionmaker[Session], broker_url: str, worker_context: Callable[[], None]
) -> None:
    from workers.tasks.maintenance import dispatch_due

    assert has_retry_message(RETRY_MESSAGE_MAX_S) and not has_retry_message(RETRY_MESSAGE_MAX_S + 1)
    long_due = failed_with_delay(db, "long", delay_s=300, due_ago_s=1)
    short_due = failed_with_delay(db, "short", delay_s=5, due_ago_s=1)  # its message is coming
    short_lost = failed_with_delay(db, "lost", delay_s=5, due_ago_s=120)  # its message was lost
    long_later = failed_with_delay(db, "later", delay_s=300, due_ago_s=-60)  # not due yet
    purge(broker_url, INGEST)
    assert dispatch_due() == 2
    sent = drain_ids(broker_url, INGEST)
    assert sorted(sent) == sorted([long_due, short_lost])
    assert short_due not in sent and long_later not in sent
