"""`/api/v1/miniapp/ws`: initData on the first message, the buyer's orders as the catch-up,
then their own order changes live after commit, and nobody else's."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from api.app import create_app
from pipeline.deps import Deps
from pipeline.settings import Settings
from pipeline.unit_of_work import unit_of_work
from schema.orders import Order
from scripts.fakes.bot_api import FakeBotApiThread
from tests.api.miniapp.miniapp_support import add_products, bot_api, client, init_data, tma
from tests.support.server import running

__all__ = ["bot_api", "client"]  # fixtures, for pytest


@pytest.fixture
def ws_url(client: TestClient, api_settings: Settings) -> Iterator[str]:
    with running(create_app(api_settings)) as base:
        yield f"{base}/api/v1/miniapp/ws"


def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=10))
    return message


def buy(client: TestClient, telegram_id: int, product_id: int) -> str:
    h = tma(telegram_id)
    client.put(f"/api/v1/miniapp/cart/{product_id}", headers=h, json={"quantity": 1})
    made = client.post("/api/v1/miniapp/checkout", headers=h, json={"method": "stars"})
    public_id: str = made.json()["orders"][0]["public_id"]
    return public_id


def set_status(db: sessionmaker[Session], deps: Deps, public_id: str, status: str) -> None:
    """As a worker commits it: the unit of work's hooks announce it on `deps`' Redis."""
    with unit_of_work(db, deps) as uow:
        order = uow.session.scalars(select(Order).where(Order.public_id == public_id)).one()
        order.status = status


def subscribe(ws: ClientConnection, telegram_id: int) -> list[dict[str, Any]]:
    ws.send(json.dumps({"type": "subscribe", "init_data": init_data(telegram_id)}))
    snapshot = receive(ws)
    assert snapshot["type"] == "orders"
    assert receive(ws) == {"type": "ready"}
    items: list[dict[str, Any]] = snapshot["items"]
    return items


def test_catch_up_then_own_changes_live(
    db: sessionmaker[Session],
    bot_api: FakeBotApiThread,
    client: TestClient,
    ws_url: str,
    api_settings: Settings,
) -> None:
    deps = Deps(api_settings)
    ids = add_products(db)
    mine, theirs = buy(client, 40, ids["tea"]), buy(client, 41, ids["tea"])
    with connect(ws_url, open_timeout=10) as ws:
        (caught,) = subscribe(ws, 40)
        assert (caught["public_id"], caught["status"]) == (mine, "pending")
        set_status(db, deps, theirs, "paid")  # another buyer's: never sent here
        set_status(db, deps, mine, "paid")
        update = receive(ws)
        assert update["type"] == "orders"
        assert [(i["public_id"], i["status"]) for i in update["items"]] == [(mine, "paid")]
    # A reconnect reads the state from the database, whatever was missed meanwhile.
    set_status(db, deps, mine, "refunded")
    with connect(ws_url, open_timeout=10) as ws:
        (caught,) = subscribe(ws, 40)
        assert caught["status"] == "refunded"


@pytest.mark.parametrize(
    "first",
    [
        {"type": "subscribe", "init_data": "user=%7B%7D&auth_date=1&hash=00"},
        {"type": "subscribe", "init_data": init_data(40, auth_date=int(time.time()) - 3 * 86400)},
    ],
)
def test_bad_init_data_is_closed_4401(
    db: sessionmaker[Session],
    bot_api: FakeBotApiThread,
    client: TestClient,
    ws_url: str,
    first: dict[str, str],
) -> None:
    with connect(ws_url, open_timeout=10) as ws:
        ws.send(json.dumps(first))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_a_malformed_first_message_is_closed_4400(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, client: TestClient, ws_url: str
) -> None:
    with connect(ws_url, open_timeout=10) as ws:
        ws.send(json.dumps({"type": "hello"}))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
