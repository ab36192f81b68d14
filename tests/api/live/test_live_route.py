"""`/api/v1/ws` in the real app over a real server: access tokens and API keys, scopes,
live events committed and announced."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from api.app import create_app
from api.live.protocol import CloseCode
from pipeline.live.events import announce_changes
from pipeline.settings import Settings
from schema.events import Event
from tests.support.redis_clients import env_deps
from tests.support.server import running


@pytest.fixture
def ws_url(api_client: TestClient, api_settings: Settings) -> Iterator[str]:
    with running(create_app(api_settings)) as base:
        yield f"{base}/api/v1/ws"


def _closed_with(url: str, message: Mapping[str, object]) -> int | None:
    with connect(url, open_timeout=10) as ws:
        ws.send(json.dumps(message))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    return closed.value.rcvd.code if closed.value.rcvd else None


def test_a_token_subscribes_and_gets_committed_changes(
    ws_url: str,
    db: sessionmaker[Session],
    engine: Engine,
    staff_token: Callable[..., str],
    api_key: Callable[..., str],
) -> None:
    with connect(f"{ws_url}?token={staff_token('viewer')}", open_timeout=10) as ws:
        ws.send(json.dumps({"type": "subscribe", "topics": ["events", "alerts"]}))
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        with db() as session:
            session.add(
                Event(source="stripe", type="t", external_id="live-1", status="received",
                      payload={}, received_at=datetime.now(UTC))
            )  # fmt: skip
            session.commit()
        announce_changes(engine, env_deps())
        message = json.loads(ws.recv(timeout=10))
        assert message["type"] == "events" and message["items"][0]["external_id"] == "live-1"

    key = api_key(["events:read"])
    ok = {"type": "subscribe", "token": key, "topics": ["events"], "cursor": 0}
    with connect(ws_url, open_timeout=10) as ws:
        ws.send(json.dumps(ok))
        caught_up = json.loads(ws.recv(timeout=10))
        assert caught_up["items"][0]["external_id"] == "live-1"
    forbidden = {"type": "subscribe", "token": key, "topics": ["feedback"]}
    assert _closed_with(ws_url, forbidden) == CloseCode.FORBIDDEN
    bad = {"type": "subscribe", "token": "pk_nonsense", "topics": ["events"]}
    assert _closed_with(ws_url, bad) == CloseCode.UNAUTHENTICATED
