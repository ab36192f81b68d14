"""`pipeline broadcast` (broadcast.run) announces through the same after-commit hook as the
workers: progress per message, then done, with the counters on the broadcast row."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.live.channel import Topic, channel_name, decode
from pipeline.notifications import broadcast
from pipeline.settings import get_settings
from pipeline.telegram.api import BotApi
from pipeline.telegram.limiter import RateLimiter
from schema import Broadcast, User
from scripts.fakes.bot_api import FakeBotApiThread
from tests.support.redis_clients import env_redis


def test_a_cli_broadcast_is_announced_until_done(
    db: sessionmaker[Session], live_redis: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeBotApiThread()
    try:
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:t")
        monkeypatch.setenv("TELEGRAM_API_BASE", fake.url)
        get_settings.cache_clear()
        with db() as session:
            session.add_all(User(telegram_id=n, chat_id=n, language="ru") for n in (1, 2, 3))
            session.add(User(telegram_id=4, chat_id=4, language="en"))
            item = broadcast.start(session, "Привет", "ru")
            session.commit()
            broadcast_id = item.id
        pubsub = env_redis().pubsub()
        pubsub.subscribe(channel_name(get_settings()))
        assert pubsub.get_message(timeout=2)["type"] == "subscribe"
        limiter = RateLimiter(env_redis())
        deps = Deps.build(redis=limiter.redis)
        progress = broadcast.run(
            db, broadcast_id, BotApi(get_settings()), limiter, deps, show_progress=False
        )
        assert progress.sent == 3
        items: list[dict[str, object]] = []
        while (message := pubsub.get_message(timeout=2)) is not None:
            decoded = decode(message["data"])
            assert decoded is not None and decoded[0] is Topic.BROADCASTS
            items.extend(decoded[1])
        pubsub.close()
        # The start was committed before subscribing; the last message settles it done.
        assert [(i["done"], i["status"]) for i in items] == [
            (1, "running"), (2, "running"), (3, "done"),
        ]  # fmt: skip
        with db() as session:
            stored = session.get(Broadcast, broadcast_id)
            assert stored is not None and (stored.status, stored.sent) == ("done", 3)
    finally:
        fake.stop()
        get_settings.cache_clear()


def test_a_canceled_cli_broadcast_stays_canceled(
    db: sessionmaker[Session], live_redis: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.notifications import broadcast_admin

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:t")  # never called: nothing is left to send
    get_settings.cache_clear()
    with db() as session:
        session.add_all(User(telegram_id=n, chat_id=n, language="ru") for n in (1, 2))
        item = broadcast.start(session, "Отмена", None)
        broadcast_admin.cancel(session, item)
        session.commit()
        broadcast_id = item.id
    limiter = RateLimiter(env_redis())
    deps = Deps.build(redis=limiter.redis)
    progress = broadcast.run(
        db, broadcast_id, BotApi(get_settings()), limiter, deps, show_progress=False
    )
    assert progress.done == 0  # nothing was left to send
    with db() as session:
        stored = session.get(Broadcast, broadcast_id)
        assert stored is not None and (stored.status, stored.failed) == ("canceled", 0)
    get_settings.cache_clear()
