"""Alert keys, cooldown folding, resolve messages; probes against real Redis and broker."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from adapters.broker.celery_message import task_message
from adapters.broker.publisher import BrokerPublisher
from adapters.broker.queue_stats import queue_stats
from pipeline.alerts import raise_alert, resolve_alert, resolve_quiet
from pipeline.alerts.checks import (
    alert_receipt_failed,
    check_backups,
    check_heartbeat,
    check_queues,
    check_signatures,
)
from pipeline.alerts.probes import (
    beat_heart,
    count_rejection,
    last_heartbeat,
    redis_url,
    rejections,
)
from pipeline.envelope import Envelope
from pipeline.messaging.queues import INGEST, TASK_INGEST, queue_name
from pipeline.settings import Settings
from schema.messaging import Notification
from schema.operations import Alert, BackupRun
from tests.support.broker import purge

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def settings() -> Settings:
    return Settings(alert_chat_id=-500, alert_cooldown_s=600)


def messages(db: sessionmaker[Session]) -> list[str]:
    with db() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id))
        return [r.text or "" for r in rows if r.kind == "alert" and r.chat_id == -500]


def test_dedup_cooldown_and_resolve(db: sessionmaker[Session], settings: Settings) -> None:
    with db() as session:
        assert raise_alert(session, "k", "disk full", now=T0, settings=settings)
        for minute in (1, 2, 3):  # within the cooldown: folded
            at = T0 + timedelta(minutes=minute)
            assert not raise_alert(session, "k", "disk full", now=at, settings=settings)
        session.commit()
    assert len(messages(db)) == 1 and messages(db)[0].startswith("🔴 disk full")
    with db() as session:
        assert raise_alert(
            session, "k", "disk full", now=T0 + timedelta(minutes=11), settings=settings
        )
        session.commit()
    assert "repeated 4 more times" in messages(db)[1]  # 3 folded + this one
    with db() as session:
        assert resolve_alert(session, "k", now=T0 + timedelta(minutes=20), settings=settings)
        assert not resolve_alert(session, "k", settings=settings)  # already resolved
        assert not resolve_alert(session, "never-raised", settings=settings)
        session.commit()
        alert = session.get(Alert, "k")
        assert alert is not None and (alert.status, alert.total) == ("resolved", 5)
    assert messages(db)[2].startswith("✅ resolved after 20 min (5 occurrences)")
    with db() as session:  # firing again: a new message at once
        assert raise_alert(
            session, "k", "disk full", now=T0 + timedelta(minutes=21), settings=settings
        )
        session.commit()
    assert len(messages(db)) == 4


def test_receipt_alert_resolves_when_quiet(
    db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.settings import get_settings

    monkeypatch.setenv("ALERT_CHAT_ID", "-500")
    get_settings.cache_clear()
    settings = get_settings()
    with db() as session:
        assert alert_receipt_failed(session, "atol", "fn full", settings)
        assert resolve_quiet(session, "receipt_failed:", 60, settings=settings) == []
        later = datetime.now(UTC) + timedelta(minutes=2)
        quiet = resolve_quiet(session, "receipt_failed:", 60, now=later, settings=settings)
        assert quiet == ["receipt_failed:atol"]
        session.commit()
    assert [m[:2] for m in messages(db)] == ["🔴 ", "✅ "]


@pytest.mark.asyncio
async def test_signature_burst_from_redis_counts(
    db: sessionmaker[Session], services: object, monkeypatch: pytest.MonkeyPatch, queue_prefix: str
) -> None:
    monkeypatch.setenv("QUEUE_PREFIX", queue_prefix + "sig-")
    url = services.redis_url  # type: ignore[attr-defined]
    settings = Settings(
        redis_url=url, alert_chat_id=-500, alert_signature_failures=5, alert_signature_window_s=60
    )
    client_url = redis_url(settings)
    assert client_url

    client = aioredis.Redis.from_url(client_url)
    for _ in range(6):
        await count_rejection(client, "stripe", 60)
    await client.aclose()
    sync = redis.Redis.from_url(client_url)
    counts = rejections(sync, 60)
    assert counts.get("stripe") == 6
    with db() as session:
        check_signatures(session, settings, counts)
        check_signatures(session, settings, {})  # the burst is over
        session.commit()
    texts = messages(db)
    assert "stripe: 6 webhooks with bad signatures" in texts[0] and texts[1].startswith("✅")
    for key in sync.scan_iter(match=f"{queue_prefix}sig-*"):
        sync.delete(key)


def test_queue_backlog_and_age(
    db: sessionmaker[Session], broker_url: str, services: object
) -> None:
    purge(broker_url, INGEST)
    old = Envelope("stripe", "e1", "x", b"{}", datetime.now(UTC) - timedelta(minutes=10))
    publisher = BrokerPublisher(broker_url)
    try:
        for _ in range(3):
            publisher.publish(task_message(TASK_INGEST, INGEST, [[old.to_message()]]))
    finally:
        publisher.close()
    state = redis.Redis.from_url(services.redis_client_url)  # type: ignore[attr-defined]
    stats = {s.queue: s for s in queue_stats(broker_url, state)}
    ingest = stats[queue_name(INGEST)]
    assert ingest.depth == 3
    if broker_url.startswith("redis"):
        assert ingest.oldest_age_s is not None and 590 < ingest.oldest_age_s < 700
    settings = Settings(alert_chat_id=-500, alert_queue_backlog=3, alert_queue_age_s=300)
    with db() as session:
        check_queues(session, settings, list(stats.values()))
        session.commit()
    assert any(f"queue {queue_name(INGEST)}: 3 waiting" in m for m in messages(db))
    purge(broker_url, INGEST)


def test_worker_heartbeat(
    db: sessionmaker[Session], services: object, monkeypatch: pytest.MonkeyPatch, queue_prefix: str
) -> None:
    monkeypatch.setenv("QUEUE_PREFIX", queue_prefix + "hb-")
    client = redis.Redis.from_url(services.redis_client_url)  # type: ignore[attr-defined]
    settings = Settings(alert_chat_id=-500, alert_heartbeat_s=60)
    assert last_heartbeat(client) is None
    with db() as session:
        check_heartbeat(session, settings, None)
        beat_heart(client, 30, "w1")
        check_heartbeat(session, settings, last_heartbeat(client), now=time.time() + 1)
        session.commit()
    texts = messages(db)
    assert texts[0].startswith("🔴 no worker heartbeat (never seen)") and texts[1].startswith("✅")


def test_backup_overdue(db: sessionmaker[Session]) -> None:
    settings = Settings(alert_chat_id=-500, backup_max_age_h=24)
    now = datetime.now(UTC)
    with db() as session:
        check_backups(session, settings, now)  # never backed up: the job has not run yet
        session.add(
            BackupRun(
                started_at=now - timedelta(hours=30), finished_at=now - timedelta(hours=30), ok=True
            )
        )
        session.flush()
        check_backups(session, settings, now)
        session.add(BackupRun(started_at=now, finished_at=now, ok=True))
        session.flush()
        check_backups(session, settings, now)
        session.commit()
    texts = messages(db)
    assert len(texts) == 2 and "no good backup for over 24 h" in texts[0]
