"""Blocking a bot user is a ban: who/when/why kept, broadcasts and notifications skip the
user, the Mini App answers 403 (and its WebSocket closes 4403); unblocking restores it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from api.app import create_app
from pipeline.deps import Deps
from pipeline.notifications import broadcast
from pipeline.notifications.direct import NotQueued, queue_message
from pipeline.notifications.outbox import add_notification
from pipeline.notifications.sender import send_due
from pipeline.settings import Settings, get_settings
from pipeline.telegram.api import BotApi
from pipeline.telegram.limiter import RateLimiter
from schema import Notification, User
from scripts.fakes.bot_api import FakeBotApiThread
from tests.api.conftest import bearer
from tests.api.miniapp.miniapp_support import bot_api, client, init_data, tma
from tests.support.redis_clients import env_redis
from tests.support.server import running

__all__ = ["bot_api", "client"]  # fixtures, for pytest
M = "/api/v1/miniapp"


@pytest.fixture
def operator(staff_token: Callable[..., str]) -> dict[str, str]:
    return bearer(staff_token("operator", "ops@example.com"))


def _user(db: sessionmaker[Session], telegram_id: int) -> int:
    with db() as session:
        user = User(telegram_id=telegram_id, chat_id=telegram_id, language="en")
        session.add(user)
        session.commit()
        return user.id


def test_block_keeps_who_when_why_and_unblock_clears_it(
    client: TestClient, db: sessionmaker[Session], operator: dict[str, str]
) -> None:
    user_id = _user(db, 801)
    url = f"/api/v1/users/{user_id}"
    blocked = client.post(f"{url}/block", json={"reason": "  spam  "}, headers=operator).json()
    assert blocked["blocked"] is True and blocked["blocked_since"]
    assert (blocked["blocked_by"], blocked["blocked_reason"]) == ("ops@example.com", "spam")
    assert blocked["is_active"] is True  # the bot may still write to them; it will not
    listed = client.get("/api/v1/users", params={"blocked": True}, headers=operator).json()
    assert [u["id"] for u in listed["items"]] == [user_id]
    too_long = client.post(f"{url}/block", json={"reason": "x" * 501}, headers=operator)
    assert too_long.status_code == 422
    unknown = client.post(f"{url}/block", json={"why": "x"}, headers=operator)
    assert unknown.status_code == 422
    unblocked = client.post(f"{url}/unblock", headers=operator).json()
    assert unblocked["blocked"] is False
    assert (unblocked["blocked_since"], unblocked["blocked_by"], unblocked["blocked_reason"]) == (
        None, None, None,
    )  # fmt: skip
    assert client.post(f"{url}/block", headers=operator).json()["blocked_reason"] is None


def test_broadcasts_and_notifications_skip_a_blocked_user(
    client: TestClient,
    db: sessionmaker[Session],
    operator: dict[str, str],
    bot_api: FakeBotApiThread,
) -> None:
    _user(db, 811)
    banned = _user(db, 812)
    with db() as session:  # queued before the block: skipped when its turn comes
        add_notification(
            session, dedup_key="early", chat_id=812, kind="payment_received", user_id=banned,
            text="paid",
        )  # fmt: skip
        session.commit()
    client.post(f"/api/v1/users/{banned}/block", headers=operator)
    with db() as session:
        started = broadcast.start(session, "News", None)
        session.commit()
        assert started.total == 1
        with pytest.raises(NotQueued) as refused:
            queue_message(session, 812, text="hello")
        assert refused.value.reason == "blocked"
        assert queue_message(session, 811, text="hello").queued
        session.commit()
    send_due(db, BotApi(get_settings()), RateLimiter(env_redis()), budget_s=30, deps=Deps.build())
    assert sorted(p["chat_id"] for p in bot_api.sent()) == [811, 811]
    with db() as session:
        early = session.scalars(select(Notification).where(Notification.dedup_key == "early"))
        note = early.one()
        assert (note.status, note.last_error) == ("skipped", "blocked by an operator")


def test_the_mini_app_refuses_a_blocked_user_until_unblocked(
    client: TestClient, db: sessionmaker[Session], operator: dict[str, str]
) -> None:
    assert client.get(f"{M}/me", headers=tma(821)).status_code == 200  # first contact
    with db() as session:
        user_id = session.scalars(select(User.id).where(User.telegram_id == 821)).one()
    client.post(f"/api/v1/users/{user_id}/block", headers=operator)
    refused = client.get(f"{M}/me", headers=tma(821))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.get(f"{M}/catalog", headers=tma(821)).status_code == 403
    client.post(f"/api/v1/users/{user_id}/unblock", headers=operator)
    assert client.get(f"{M}/me", headers=tma(821)).status_code == 200


@pytest.fixture
def ws_url(client: TestClient, api_settings: Settings) -> Iterator[str]:
    with running(create_app(api_settings)) as base:
        yield f"{base}{M}/ws"


def test_the_mini_app_websocket_closes_4403_for_a_blocked_user(
    client: TestClient, db: sessionmaker[Session], operator: dict[str, str], ws_url: str
) -> None:
    client.get(f"{M}/me", headers=tma(831))
    with db() as session:
        user_id = session.scalars(select(User.id).where(User.telegram_id == 831)).one()
    client.post(f"/api/v1/users/{user_id}/block", headers=operator)
    with connect(ws_url) as ws:
        ws.send(json.dumps({"type": "subscribe", "init_data": init_data(831)}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    frame: Any = closed.value.rcvd
    assert frame is not None and frame.code == 4403
