"""Through the real ingest path: what the workers process gets a cursor and is announced
by the after-processing hook; a verify request on a run records its result."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from redis.client import PubSub
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.backups.verification import verify_run
from pipeline.deps import Deps
from pipeline.events.handlers import load_handler_modules
from pipeline.events.service import EventService, RetryPolicy
from pipeline.live.channel import Topic, channel_name, decode
from pipeline.live.events import changes_since
from pipeline.providers.registry import build_registry
from pipeline.settings import get_settings
from schema.operations import Alert, BackupRun
from tests.pipeline.events.test_service import stripe_envelope
from tests.support.redis_clients import env_redis


def announced_events(pubsub: PubSub, wait_s: float = 20.0) -> dict[str, str]:
    """The last status announced for each event, once the first events message came.

    Other topics on the channel are skipped; the wait is long for a loaded machine and
    ends as soon as the message is there."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=1)
        decoded = decode(message["data"]) if message else None
        if decoded is not None and decoded[0] is Topic.EVENTS:
            return {i["external_id"]: i["status"] for i in decoded[1]}
    raise AssertionError("no events message on the live channel")


def test_ingested_events_are_announced_after_commit_with_their_final_status(
    db: sessionmaker[Session], engine: Engine, live_redis: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.tasks.ingest import after_processing

    monkeypatch.setattr("workers.tasks.live.engine", lambda: engine)
    service = EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        load_handler_modules(grpc_sources=get_settings().grpc_sources),
        RetryPolicy(3, 0.01, 0.05),
        deps=Deps.build(),
    )
    pubsub = env_redis().pubsub()
    pubsub.subscribe(channel_name(get_settings()))
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    # evt_live_3 has no handler: it goes in `ignored`, announced like the others.
    batch = [
        stripe_envelope("evt_live_1"),
        stripe_envelope("evt_live_2"),
        stripe_envelope("evt_live_3", "customer.created"),
    ]
    _, result = service.ingest(batch)
    after_processing(result)
    assert announced_events(pubsub) == {
        "evt_live_1": "processed",
        "evt_live_2": "processed",
        "evt_live_3": "ignored",
    }
    with db() as session:
        changed = [(i["external_id"], i["status"]) for i in changes_since(session, 0)]
    assert changed == [
        ("evt_live_1", "processed"),
        ("evt_live_2", "processed"),
        ("evt_live_3", "ignored"),
    ]
    pubsub.close()


def test_verifying_a_missing_backup_file_records_the_failure_and_alerts(
    db: sessionmaker[Session], database_url: str
) -> None:
    now, deps = datetime.now(UTC), Deps.build()
    with db() as session:
        run = BackupRun(started_at=now, finished_at=now, ok=True, file="/nonexistent/x.dump")
        session.add(run)
        session.commit()
        run_id = run.id
    assert verify_run(db, deps, database_url, run_id) is False
    with db() as session:
        stored = session.get(BackupRun, run_id)
        assert stored is not None and stored.verified_at is not None and stored.verify_error
        assert session.scalars(select(Alert)).one().status == "firing"
    assert verify_run(db, deps, database_url, 999) is False  # no such run: nothing to verify
