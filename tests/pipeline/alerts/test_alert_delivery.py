"""Alerts reach the operators' chat through the same rate-limited sender as every
notification, against the fake Bot API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from pipeline.alerts import raise_alert, resolve_alert
from pipeline.deps import Deps
from pipeline.messaging.urls import redis_py_url
from pipeline.notifications.sender import send_due
from pipeline.settings import Settings, get_settings
from pipeline.telegram.api import BotApi
from pipeline.telegram.limiter import RateLimiter
from scripts.fakes.bot_api import FakeBotApiThread
from tests.support.services import TestServices

ALERT_CHAT = -100_500


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBotApiThread]:
    server = FakeBotApiThread()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:alert-delivery-token")
    monkeypatch.setenv("TELEGRAM_API_BASE", server.url)
    monkeypatch.setenv("ALERT_CHAT_ID", str(ALERT_CHAT))
    get_settings.cache_clear()
    yield server
    server.stop()


def test_alert_dedup_cooldown_and_resolve_through_the_sender(
    db: sessionmaker[Session], fake: FakeBotApiThread, services: TestServices
) -> None:
    settings = Settings(alert_chat_id=ALERT_CHAT, alert_cooldown_s=600)
    limiter = RateLimiter(
        redis.Redis.from_url(redis_py_url(services.redis_url)), f"alerts{time.time()}:"
    )
    t0 = datetime.now(UTC)

    def deliver() -> list[str]:
        send_due(
            db, BotApi(get_settings()), limiter, budget_s=10, deps=Deps.build(redis=limiter.redis)
        )
        return [m["text"] for m in fake.sent() if int(m["chat_id"]) == ALERT_CHAT]

    with db() as session:
        raise_alert(session, "queue:ingest", "ingest backlog 5000", now=t0, settings=settings)
        raise_alert(
            session,
            "queue:ingest",
            "ingest backlog 5100",
            now=t0 + timedelta(minutes=1),
            settings=settings,
        )
        session.commit()
    sent = deliver()
    assert len(sent) == 1 and "ingest backlog 5000" in sent[0]  # the repeat was folded

    with db() as session:
        resolve_alert(session, "queue:ingest", now=t0 + timedelta(minutes=5), settings=settings)
        session.commit()
    deadline = time.monotonic() + 10  # one message a second per chat: it may wait its turn
    while len(sent := deliver()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(sent) == 2 and sent[1].startswith("✅ resolved")
