"""An open `/api/v1/ws` lasts only as long as its credential: a console logout, a revoked
API key and a deactivated staff account each close it with 4401 within the re-check bound,
while a good credential keeps it open across many re-checks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from api.app import create_app
from api.live.protocol import CloseCode
from api.runtime import ApiRuntime
from pipeline.auth import apikeys, staff
from pipeline.settings import get_settings
from pipeline.unit_of_work import unit_of_work
from tests.api.console.support import start_session
from tests.support.server import running

RECHECK_S = 0.5
# The re-check period plus room for a loaded 2-core machine (a thread-pool database read).
BOUND_S = 15.0
SUBSCRIBE = json.dumps({"type": "subscribe", "topics": ["events"]})


@pytest.fixture
def served(api_env: pytest.MonkeyPatch) -> Iterator[tuple[str, ApiRuntime]]:
    """The whole API app on a real server re-checking credentials every RECHECK_S."""
    api_env.setenv("API_WS_RECHECK_S", str(RECHECK_S))
    get_settings.cache_clear()
    app = create_app(get_settings())
    with running(app) as base:
        yield base, app.state.runtime


def _ready(ws: ClientConnection) -> None:
    assert json.loads(ws.recv(timeout=10))["type"] == "ready"


def _stays_open(ws: ClientConnection, seconds: float) -> None:
    """Nothing but pings for `seconds` (several re-checks of a good credential)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            assert json.loads(ws.recv(timeout=left))["type"] == "ping"
        except TimeoutError:
            return


def _closed_within(ws: ClientConnection, seconds: float) -> tuple[int | None, str, float]:
    """The close code and reason the server sent, and how long after the call it came."""
    started = time.monotonic()
    deadline = started + seconds
    while True:
        try:
            ws.recv(timeout=max(0.05, deadline - time.monotonic()))
        except ConnectionClosed as closed:
            frame = closed.rcvd
            took = time.monotonic() - started
            return (frame.code if frame else None), (frame.reason if frame else ""), took
        except TimeoutError:
            pytest.fail(f"the socket was still open {seconds:.0f} s after the credential ended")


def _expect_4401(ws: ClientConnection) -> None:
    code, reason, took = _closed_within(ws, BOUND_S)
    assert code == CloseCode.UNAUTHENTICATED, (code, reason)
    assert "revoked" in reason and took < BOUND_S


def test_a_console_logout_closes_the_cookie_socket(served: tuple[str, ApiRuntime]) -> None:
    base, runtime = served
    who = start_session(runtime, "viewer")
    origin = base.replace("ws://", "http://")
    headers = {"Cookie": f"console={who.cookie}", "Origin": origin}
    with connect(f"{base}/api/v1/ws", additional_headers=headers, open_timeout=10) as ws:
        ws.send(SUBSCRIBE)
        _ready(ws)
        _stays_open(ws, RECHECK_S * 4)
        out = httpx.post(
            f"{origin}/admin/logout",
            data={"csrf_token": who.csrf},
            headers={"Cookie": f"console={who.cookie}"},
            timeout=10,
        )
        assert out.status_code == 303
        _expect_4401(ws)


def _by_key(base: str, key: str) -> Any:
    return connect(f"{base}/api/v1/ws?token={key}", open_timeout=10)


def test_a_revoked_api_key_closes_its_socket(served: tuple[str, ApiRuntime]) -> None:
    base, runtime = served
    with unit_of_work(runtime.sessions, runtime.deps) as uow:
        created = apikeys.create_key(uow.session, "live", ["events:read"])
        key, key_id = created.key, created.row.id
    with _by_key(base, key) as ws:
        ws.send(SUBSCRIBE)
        _ready(ws)
        _stays_open(ws, RECHECK_S * 4)
        with unit_of_work(runtime.sessions, runtime.deps) as uow:
            apikeys.revoke_key(uow.session, key_id)
        _expect_4401(ws)


def test_a_deactivated_account_closes_its_token_socket(
    served: tuple[str, ApiRuntime], staff_token: Callable[..., str]
) -> None:
    base, runtime = served
    token = staff_token("operator")
    claims = runtime.signer.verify(token)
    assert claims is not None
    with _by_key(base, token) as ws:
        ws.send(SUBSCRIBE)
        _ready(ws)
        with unit_of_work(runtime.sessions, runtime.deps) as uow:
            account = staff.get_staff(uow.session, claims.staff_id)
            staff.update_staff(uow.session, account, active=False)
        _expect_4401(ws)
