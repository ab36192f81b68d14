"""Status changes get a cursor in commit order and are published once, after commit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from pipeline.live.channel import Topic, channel_name, decode
from pipeline.live.events import announce_changes, changes_since, latest_cursor
from pipeline.settings import get_settings
from schema.events import Event
from tests.support.redis_clients import env_deps, env_redis


def _event(n: int, source: str = "stripe") -> Event:
    return Event(
        source=source,
        type="payment",
        external_id=f"ev-{n}",
        status="received",
        payload={"n": n},
        received_at=datetime.now(UTC),
    )


def _listen() -> Any:
    pubsub = env_redis().pubsub()
    pubsub.subscribe(channel_name(get_settings()))
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    return pubsub


def _published(pubsub: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while (message := pubsub.get_message(timeout=0.5)) is not None:
        decoded = decode(message["data"])
        assert decoded is not None and decoded[0] is Topic.EVENTS
        items.extend(decoded[1])
    return items


def test_inserts_and_status_changes_are_announced_once_in_cursor_order(
    db: sessionmaker[Session], engine: Engine, live_redis: str
) -> None:
    pubsub = _listen()
    with db() as session:
        session.add_all([_event(1), _event(2, "yookassa")])
        session.commit()
    assert announce_changes(engine, env_deps()) == 2
    assert announce_changes(engine, env_deps()) == 0  # nothing new: nothing published twice
    first = _published(pubsub)
    assert [i["external_id"] for i in first] == ["ev-1", "ev-2"]
    assert first[0]["cursor"] < first[1]["cursor"]

    with db() as session:
        session.execute(text("UPDATE events SET status = 'processed' WHERE external_id = 'ev-1'"))
        session.execute(text("UPDATE events SET attempts = 3 WHERE external_id = 'ev-2'"))
        session.commit()
    assert announce_changes(engine, env_deps()) == 1  # only a status change is a change
    (change,) = _published(pubsub)
    assert change["status"] == "processed" and change["cursor"] > first[1]["cursor"]
    pubsub.close()


def test_catch_up_returns_what_came_after_a_cursor_with_filters(
    db: sessionmaker[Session], engine: Engine, live_redis: str
) -> None:
    with db() as session:
        session.add_all([_event(n, "stripe" if n % 2 else "tbank") for n in range(6)])
        session.commit()
    announce_changes(engine, env_deps())
    with db() as session:
        everything = changes_since(session, 0)
        assert len(everything) == 6
        cursor = everything[2]["cursor"]
        assert [i["cursor"] for i in changes_since(session, cursor)] == [
            i["cursor"] for i in everything[3:]
        ]
        assert {i["source"] for i in changes_since(session, 0, sources=["tbank"])} == {"tbank"}
        assert changes_since(session, 0, statuses=["dead"]) == []
        assert changes_since(session, 0, limit=2) == everything[:2]
        assert latest_cursor(session) == everything[-1]["cursor"]


def test_an_uncommitted_change_is_not_announced_until_it_commits(
    db: sessionmaker[Session], engine: Engine, live_redis: str
) -> None:
    with db() as session:
        session.add(_event(1))
        session.commit()
    announce_changes(engine, env_deps())
    with db() as open_tx:
        open_tx.execute(text("UPDATE events SET status = 'dead'"))
        open_tx.flush()
        assert (
            announce_changes(engine, env_deps()) == 0
        )  # the row is locked: skipped, not waited on
        open_tx.commit()
    assert announce_changes(engine, env_deps()) == 1


def test_publishing_without_redis_keeps_the_cursor_for_catch_up(
    db: sessionmaker[Session], engine: Engine, monkeypatch: Any
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    from pipeline.settings import get_settings

    get_settings.cache_clear()
    with db() as session:
        session.add(_event(1))
        session.commit()
    assert announce_changes(engine, env_deps()) == 1  # stamped, the publish failed and was logged
    with db() as session:
        assert len(changes_since(session, 0)) == 1


def test_alerts_changed_in_a_check_are_announced(
    db: sessionmaker[Session], live_redis: str
) -> None:
    from pipeline.alerts.live import announce_changed_since
    from schema.operations import Alert

    before = datetime.now(UTC)
    pubsub = env_redis().pubsub()
    pubsub.subscribe(channel_name(get_settings()))
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    with db() as session:
        old = datetime(2026, 1, 1, tzinfo=UTC)
        session.add(Alert(key="old", status="firing", text="t", first_at=old, last_at=old))
        now = datetime.now(UTC)
        session.add(Alert(key="queue", status="firing", text="deep", first_at=now, last_at=now))
        session.commit()
    assert announce_changed_since(db, before, env_deps()) == 1
    message = pubsub.get_message(timeout=2)
    decoded = decode(message["data"])
    assert decoded is not None and decoded[0] is Topic.ALERTS
    assert [a["key"] for a in decoded[1]] == ["queue"]
    pubsub.close()
