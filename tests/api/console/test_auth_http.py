"""The console's login, session cookie, CSRF and permission edges, over plain HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from api.runtime import ApiRuntime
from pipeline.auth import staff
from schema.staff import ConsoleSession, StaffSession
from tests.api.console.conftest import signed_in
from tests.api.console.support import Operator, start_session
from tests.support.smtp import Inbox

EMAIL = "ops@example.com"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def login_form_token(client: TestClient) -> str:
    page = client.get("/admin/login")
    assert page.status_code == 200
    found = CSRF_FIELD.search(page.text)
    assert found
    return found.group(1)


def log_in_by_code(client: TestClient, inbox: Inbox, email: str = EMAIL) -> str:
    """A login in this browser; a session it still has is sent along (and must end)."""
    old = client.cookies.get("console")
    client.cookies.clear()  # else the login page sends a logged-in browser onwards
    token = login_form_token(client)
    if old:
        client.cookies.set("console", old)
    sent = client.post("/admin/login/code", data={"email": email, "csrf_token": token})
    assert sent.status_code == 200 and "code" in sent.text
    code = inbox.last_code(email)
    done = client.post(
        "/admin/login/verify",
        data={"email": email, "code": code, "csrf_token": token, "next": "/admin/sessions"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/admin/sessions"
    value: str = done.cookies["console"]
    client.cookies.clear()
    client.cookies.set("console", value)
    return value


def test_pages_need_a_session(console_client: TestClient) -> None:
    page = console_client.get("/admin/sessions", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/admin/login?next=%2Fadmin%2Fsessions"
    listed = console_client.get("/admin/events?status=dead&source=stripe", follow_redirects=False)
    assert listed.headers["location"].endswith(
        "next=%2Fadmin%2Fevents%3Fstatus%3Ddead%26source%3Dstripe"
    )
    partial = console_client.get("/admin/", headers={"HX-Request": "true"})
    assert partial.status_code == 401 and partial.headers["hx-redirect"] == "/admin/login"


def test_login_page_is_locked_down(console_client: TestClient) -> None:
    page = console_client.get("/admin/login")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " on" + "click=" not in page.text
    for src in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert src.startswith("/"), src  # nothing from another site
    assert "console_login" in page.headers["set-cookie"]


def test_code_login_sets_a_locked_cookie_and_rotates_it(
    inbox: Inbox, console_client: TestClient, db: sessionmaker[Session]
) -> None:
    with db.begin() as session:
        staff.add_staff(session, EMAIL, "operator")
    first = log_in_by_code(console_client, inbox)
    second = log_in_by_code(console_client, inbox)
    assert first != second
    with db() as session:
        stored = session.scalars(select(ConsoleSession.token_hash)).all()
        logins = session.scalars(select(StaffSession).order_by(StaffSession.id)).all()
    assert first not in stored and second not in stored and len(stored) == 2
    assert [lg.method for lg in logins] == ["console:code", "console:code"]
    assert logins[0].revoked_reason == "relogin" and logins[1].revoked_at is None


def test_cookie_flags_on_localhost_and_elsewhere(
    inbox: Inbox, console_client: TestClient, operator: Callable[..., Operator]
) -> None:
    page = console_client.get("/admin/login")
    local = page.headers["set-cookie"]
    assert "HttpOnly" in local and "SameSite=lax" in local and "Path=/" in local
    assert "Secure" not in local
    console_client.base_url = "https://console.example.com"  # type: ignore[assignment]
    page = console_client.get("/admin/login")
    remote = page.headers["set-cookie"]
    assert remote.startswith("__Host-console_login=")
    assert "Secure" in remote and "HttpOnly" in remote and "SameSite=lax" in remote


def test_wrong_code_is_refused_and_counted(
    inbox: Inbox, console_client: TestClient, db: sessionmaker[Session]
) -> None:
    with db.begin() as session:
        staff.add_staff(session, EMAIL, "viewer")
    token = login_form_token(console_client)
    console_client.post("/admin/login/code", data={"email": EMAIL, "csrf_token": token})
    wrong = "000000" if inbox.last_code(EMAIL) != "000000" else "111111"
    answer = console_client.post(
        "/admin/login/verify", data={"email": EMAIL, "code": wrong, "csrf_token": token}
    )
    assert answer.status_code == 401 and "wrong, expired or used up" in answer.text
    assert "console" not in console_client.cookies


def test_login_forms_need_their_csrf_token(inbox: Inbox, console_client: TestClient) -> None:
    login_form_token(console_client)  # the binding cookie is set, but no token is sent
    answer = console_client.post("/admin/login/code", data={"email": EMAIL})
    assert answer.status_code == 403
    assert inbox.messages == []


def test_next_is_a_console_path_only(console_client: TestClient) -> None:
    for evil in ("//evil.example/admin", "https://evil.example", "/admin\\@evil"):
        page = console_client.get("/admin/login", params={"next": evil})
        assert 'name="next" value="/admin/"' in page.text


def test_logout_needs_csrf_and_ends_the_session(
    console_client: TestClient, operator: Callable[..., Operator], db: sessionmaker[Session]
) -> None:
    who = operator("viewer")
    client = signed_in(console_client, who)
    assert client.get("/admin/sessions").status_code == 200
    assert client.post("/admin/logout", follow_redirects=False).status_code == 403
    out = client.post("/admin/logout", data={"csrf_token": who.csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/admin/login"
    with db() as session:
        assert session.get_one(StaffSession, who.login_id).revoked_reason == "logout"
    client.cookies.set("console", who.cookie)  # a copy of the old cookie is worth nothing
    assert client.get("/admin/sessions", follow_redirects=False).status_code == 303


def test_own_sessions_are_listed_and_revoked(
    console_client: TestClient, operator: Callable[..., Operator], db: sessionmaker[Session]
) -> None:
    who = operator("viewer")
    other = operator("viewer", who.email)
    client = signed_in(console_client, who)
    page = client.get("/admin/sessions")
    assert f'data-session="{other.login_id}"' in page.text
    stranger = operator("viewer")
    url = f"/admin/sessions/{stranger.login_id}/revoke"
    assert client.post(url, data={"csrf_token": who.csrf}).status_code == 404
    url = f"/admin/sessions/{other.login_id}/revoke"
    assert client.post(url).status_code == 403  # no CSRF token
    done = client.post(url, data={"csrf_token": who.csrf}, follow_redirects=False)
    assert done.status_code == 303
    with db() as session:
        assert session.get_one(StaffSession, other.login_id).revoked_at is not None
        assert session.get_one(StaffSession, stranger.login_id).revoked_at is None
    assert "Session" in client.get("/admin/sessions").text  # the flash


def test_idle_and_absolute_timeouts(
    console_client: TestClient, operator: Callable[..., Operator], db: sessionmaker[Session]
) -> None:
    who = operator("viewer")
    client = signed_in(console_client, who)
    assert client.get("/admin/sessions").status_code == 200
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    with db.begin() as session:
        session.execute(
            update(StaffSession)
            .where(StaffSession.id == who.login_id)
            .values(last_used_at=long_ago)
        )
    assert client.get("/admin/sessions", follow_redirects=False).status_code == 303
    with db() as session:
        assert session.get_one(StaffSession, who.login_id).revoked_reason == "idle"
    later = operator("viewer")
    with db.begin() as session:
        session.execute(
            update(StaffSession)
            .where(StaffSession.id == later.login_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    client = signed_in(console_client, later)
    assert client.get("/admin/sessions", follow_redirects=False).status_code == 303


def test_the_api_accepts_the_cookie_but_changes_need_csrf(
    console_client: TestClient, operator: Callable[..., Operator], db: sessionmaker[Session]
) -> None:
    who = operator("operator")
    client = signed_in(console_client, who)
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["name"] == who.email
    refused = client.post("/api/v1/auth/logout")
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    wrong = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    cross = client.get("/api/v1/auth/me", headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    same = client.get("/api/v1/auth/me", headers={"Origin": "http://localhost"})
    assert same.status_code == 200
    with db() as session:
        assert session.get_one(StaffSession, who.login_id).revoked_at is None
    done = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": who.csrf})
    assert done.status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_console_routes_are_not_in_the_api_schema(console_client: TestClient) -> None:
    paths = console_client.get("/api/v1/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/admin")]


def test_the_live_websocket_takes_the_cookie_from_the_console_origin_only(
    console_url: str, served_runtime: ApiRuntime
) -> None:
    who = start_session(served_runtime, "viewer")
    url = console_url.replace("http://", "ws://") + "/api/v1/ws"
    subscribe = json.dumps({"type": "subscribe", "topics": ["events"]})
    same = {"Cookie": f"console={who.cookie}", "Origin": console_url}
    with connect(url, additional_headers=same, open_timeout=10) as ws:
        ws.send(subscribe)
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
    cross = {"Cookie": f"console={who.cookie}", "Origin": "https://evil.example"}
    with connect(url, additional_headers=cross, open_timeout=10) as ws:
        ws.send(subscribe)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_a_page_refreshing_itself_does_not_keep_the_session_alive(
    console_client: TestClient, operator: Callable[..., Operator], db: sessionmaker[Session]
) -> None:
    who = operator("viewer")
    client = signed_in(console_client, who)
    half_idle = datetime.now(UTC) - timedelta(minutes=40)
    with db.begin() as session:
        session.execute(
            update(StaffSession)
            .where(StaffSession.id == who.login_id)
            .values(last_used_at=half_idle)
        )
    poll = {"HX-Request": "true", "X-Console-Poll": "1"}
    assert client.get("/admin/", headers=poll).status_code == 200
    with db() as session:
        assert session.get_one(StaffSession, who.login_id).last_used_at == half_idle
    assert client.get("/admin/").status_code == 200  # a person: the clock moves
    with db() as session:
        assert session.get_one(StaffSession, who.login_id).last_used_at > half_idle
