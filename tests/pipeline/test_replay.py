"""Replay and bulk retry of dead events: every effect happens exactly once; the sweeper
re-dispatches events whose task was lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli import app
from pipeline.deps import Deps
from pipeline.events import repository
from pipeline.events.handlers import HandlerContext, HandlerRegistry
from pipeline.events.service import EventService
from pipeline.messaging.queues import INGEST
from pipeline.notifications.outbox import add_notification
from pipeline.providers.registry import build_registry
from pipeline.retry import RetryPolicy
from pipeline.settings import get_settings
from schema.events import Event
from schema.messaging import Notification
from schema.operations import Alert
from tests.pipeline.conftest import drain_ids
from tests.pipeline.events.test_service import stripe_envelope
from tests.support.broker import purge
from tests.support.events import add_events

runner = CliRunner()


def effect_service(db: sessionmaker[Session], broken: list[bool]) -> EventService:
    """A handler whose effect is an outbox row (idempotent by dedup key); fails while
    `broken[0]`."""
    registry = HandlerRegistry()

    @registry.handles("stripe", "payment_intent.succeeded")
    def pay(ctx: HandlerContext) -> None:
        if broken[0]:
            raise RuntimeError("provider down")
        add_notification(
            ctx.session,
            dedup_key=f"paid:{ctx.event.external_id}",
            chat_id=42,
            kind="payment_received",
            text="paid",
        )

    return EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        registry,
        RetryPolicy(2, 0.01, 0.02),
        deps=Deps.build(),
    )


def effects(db: sessionmaker[Session]) -> int:
    with db() as session:
        stmt = select(func.count()).select_from(Notification).where(Notification.kind != "alert")
        return int(session.execute(stmt).scalar_one())


def test_bulk_retry_of_dead_events_counts_effects_once(
    db: sessionmaker[Session], broker_url: str
) -> None:
    broken = [True]
    service = effect_service(db, broken)
    stored = service.store([stripe_envelope(f"evt_dead_{i}") for i in range(5)])
    service.process(stored.to_process)
    service.process(stored.to_process)  # second attempt: dead (2 attempts)
    with db() as session:
        assert {e.status for e in session.scalars(select(Event))} == {"dead"}
        history = repository.attempts_of(session, stored.to_process[0])
        assert [a.outcome for a in history] == ["failed", "dead"]
        assert "provider down" in history[-1].error
    purge(broker_url, INGEST)

    dry = runner.invoke(app, ["events", "retry", "--status", "dead", "--dry-run"])
    assert dry.exit_code == 0 and "would retry 5 dead events" in dry.output

    broken[0] = False
    result = runner.invoke(app, ["events", "retry", "--status", "dead", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "queued 5 events" in result.output
    ids = drain_ids(broker_url, INGEST)
    assert sorted(ids) == sorted(stored.to_process)
    for event_id in ids:
        service.process([event_id])
    assert effects(db) == 5

    # Replaying what already happened (a single replay and a redelivered task) adds nothing.
    replay = runner.invoke(app, ["events", "replay", str(ids[0])])
    assert replay.exit_code == 0, replay.output
    for event_id in [*drain_ids(broker_url, INGEST), ids[1]]:
        service.process([event_id])
    assert effects(db) == 5
    with db() as session:
        assert {e.status for e in session.scalars(select(Event))} == {"processed"}
        outcomes = [a.outcome for a in repository.attempts_of(session, ids[0])]
        assert outcomes == ["failed", "dead", "replayed"]


def test_retry_filters_by_source_and_time(db: sessionmaker[Session], broker_url: str) -> None:
    add_events(db, 3, status="failed", prefix="old", age=timedelta(days=3))
    add_events(db, 2, status="failed", prefix="new")
    add_events(db, 4, status="failed", prefix="tg", source="telegram")
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    args = ["events", "retry", "--status", "failed", "--source", "stripe", "--dry-run"]
    assert "would retry 5 failed" in runner.invoke(app, args).output
    assert "would retry 2 failed" in runner.invoke(app, [*args, "--since", since]).output
    assert "would retry 3 failed" in runner.invoke(app, [*args, "--until", since]).output


def test_sweeper_picks_up_an_event_whose_task_was_lost(
    db: sessionmaker[Session], broker_url: str, worker_context: Callable[[], None]
) -> None:
    from workers.tasks.maintenance import dispatch_due

    (lost,) = add_events(db, 1, status="received", prefix="lost", age=timedelta(minutes=10))
    (fresh,) = add_events(db, 1, status="received", prefix="fresh")
    (overdue,) = add_events(db, 1, status="failed", prefix="due")
    with db() as session:
        session.get(Event, overdue).next_attempt_at = datetime.now(UTC) - timedelta(minutes=5)  # type: ignore[union-attr]
        session.commit()
    purge(broker_url, INGEST)
    assert dispatch_due() == 2
    assert sorted(drain_ids(broker_url, INGEST)) == sorted([lost, overdue])
    assert fresh not in (lost, overdue)


def test_dead_event_raises_an_alert_that_resolves_after_replay(
    db: sessionmaker[Session], monkeypatch: object
) -> None:
    import pytest

    from pipeline.alerts.checks import check_events, on_event_dead
    from pipeline.settings import get_settings

    mp: pytest.MonkeyPatch = monkeypatch  # type: ignore[assignment]
    mp.setenv("ALERT_CHAT_ID", "-1001")
    get_settings.cache_clear()
    broken = [True]
    service = effect_service(db, broken)
    service.on_dead = on_event_dead(get_settings())
    stored = service.store([stripe_envelope("evt_a1"), stripe_envelope("evt_a2")])
    for _ in range(2):
        service.process(stored.to_process)
    with db() as session:
        alert = session.get(Alert, "event_dead:stripe")
        assert alert is not None and alert.status == "firing" and alert.total == 2
        notes = list(session.scalars(select(Notification).where(Notification.kind == "alert")))
        assert len(notes) == 1 and notes[0].chat_id == -1001  # the second one folded
    broken[0] = False
    for event_id in stored.to_process:
        service.replay(event_id)
        service.process([event_id])
    with db() as session:
        check_events(session, get_settings())
        session.commit()
        assert session.get(Alert, "event_dead:stripe").status == "resolved"  # type: ignore[union-attr]
        texts = [
            n.text or ""
            for n in session.scalars(select(Notification).order_by(Notification.id))
            if n.kind == "alert"
        ]
        assert len(texts) == 2 and texts[1].startswith("✅")


def test_retention_prunes_raw_bodies_but_keeps_rows(
    db: sessionmaker[Session], monkeypatch: object, worker_context: Callable[[], None]
) -> None:
    from workers.tasks.maintenance import prune_raw_bodies

    old = add_events(db, 3, prefix="old", age=timedelta(days=40))
    new = add_events(db, 2, prefix="new")
    dead_old = add_events(db, 1, status="dead", prefix="dead", age=timedelta(days=40))
    assert prune_raw_bodies() == 3
    with db() as session:
        rows = {e.id: e for e in session.scalars(select(Event))}
        assert all(rows[i].raw_body is None and rows[i].payload for i in old)
        assert all(rows[i].raw_body is not None for i in new + dead_old)
