"""Broadcast progress over the live WebSocket (a real server and client): a broadcast
started through the API advances and finishes as the notification worker sends it, a
canceled one says so, each announced only after its transaction committed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from websockets.sync.client import ClientConnection, connect

from api.app import create_app
from pipeline.settings import Settings
from schema import Broadcast, User
from scripts.fakes.bot_api import FakeBotApiThread
from tests.api.conftest import bearer
from tests.api.miniapp.miniapp_support import bot_api
from tests.support.server import running

__all__ = ["bot_api"]  # a fixture, for pytest
USERS = 25
BLOCKED_CHAT = 9003  # blocked the bot: the fake answers 403


@pytest.fixture
def operator_token(bot_api: FakeBotApiThread, staff_token: Callable[..., str]) -> str:
    return staff_token("operator")


@pytest.fixture
def ws_url(api_client: TestClient, api_settings: Settings) -> Iterator[str]:
    with running(create_app(api_settings)) as base:
        yield f"{base}/api/v1/ws"


def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=20))
    return message


def subscribed(ws: ClientConnection, token: str) -> None:
    ws.send(json.dumps({"type": "subscribe", "token": token, "topics": ["broadcasts"]}))
    assert receive(ws)["type"] == "ready"


def progress(ws: ClientConnection, until: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Broadcast items received until one satisfies `until` (pings skipped)."""
    seen: list[dict[str, Any]] = []
    while True:
        message = receive(ws)
        if message["type"] != "broadcasts":
            continue
        seen.extend(message["items"])
        if until(seen[-1]):
            return seen


def add_users(db: sessionmaker[Session]) -> None:
    with db() as session:
        session.add_all(
            User(telegram_id=9000 + n, chat_id=9000 + n, language="en") for n in range(USERS)
        )
        session.commit()


def test_an_api_broadcast_advances_and_finishes_on_the_websocket(
    db: sessionmaker[Session],
    bot_api: FakeBotApiThread,
    api_client: TestClient,
    operator_token: str,
    ws_url: str,
) -> None:
    from workers.celery_app import app as worker_app
    from workers.tasks.business import send_notifications

    add_users(db)
    bot_api.state.blocked.add(BLOCKED_CHAT)
    with connect(ws_url) as ws:
        subscribed(ws, operator_token)
        created = api_client.post(
            "/api/v1/broadcasts", json={"text": "Sale today"}, headers=bearer(operator_token)
        ).json()
        started = progress(ws, lambda item: item["id"] == created["id"])[-1]
        assert started == {
            "id": created["id"], "status": "running", "total": USERS, "sent": 0, "failed": 0,
            "done": 0, "remaining": USERS, "canceled": 0,
        }  # fmt: skip
        worker_app.reset_runtime()
        try:
            assert send_notifications() == USERS  # the worker task's body, inline
        finally:
            worker_app.reset_runtime()
        seen = progress(ws, lambda item: item["status"] != "running")
    done = [item["done"] for item in seen]
    assert done == list(range(1, USERS + 1))  # one announcement per settled row, in order
    assert seen[-1] == {
        "id": created["id"], "status": "done", "total": USERS, "sent": USERS - 1, "failed": 1,
        "done": USERS, "remaining": 0, "canceled": 0,
    }  # fmt: skip
    assert len(bot_api.sent()) == USERS  # each user asked once; one had blocked the bot
    with db() as session:
        stored = session.get(Broadcast, created["id"])
        assert stored is not None and stored.status == "done" and stored.finished_at is not None
    shown = api_client.get(f"/api/v1/broadcasts/{created['id']}", headers=bearer(operator_token))
    assert shown.json()["sent"] == USERS - 1 and shown.json()["failed"] == 1


def test_a_canceled_broadcast_is_announced_canceled(
    db: sessionmaker[Session], api_client: TestClient, operator_token: str, ws_url: str
) -> None:
    add_users(db)
    headers = bearer(operator_token)
    with connect(ws_url) as ws:
        subscribed(ws, operator_token)
        created = api_client.post("/api/v1/broadcasts", json={"text": "Hi"}, headers=headers)
        broadcast_id = created.json()["id"]
        api_client.post(f"/api/v1/broadcasts/{broadcast_id}/cancel", headers=headers)
        seen = progress(ws, lambda item: item["status"] != "running")
    assert [item["status"] for item in seen] == ["running", "canceled"]
    assert seen[-1]["id"] == broadcast_id and seen[-1]["sent"] == 0
    assert (seen[-1]["canceled"], seen[-1]["remaining"]) == (USERS, 0)
