"""Helpers of the console's tests: sessions made through the real service, the CSRF token
of a session, screenshots of pages in a real browser."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.console.auth import csrf_key
from api.console.csrf import token_for
from api.runtime import ApiRuntime
from pipeline.auth import console_sessions, staff
from pipeline.live.events import announce_changes
from pipeline.unit_of_work import unit_of_work
from schema.events import Event
from tests.support.redis_clients import env_deps

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Screenshots: CONSOLE_ARTIFACTS, else tests/artifacts/console/ (ignored by git).
ARTIFACTS = Path(
    os.environ.get("CONSOLE_ARTIFACTS")
    or Path(__file__).resolve().parents[2] / "artifacts" / "console"
)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Operator:
    """A logged-in console user: the cookie value and the CSRF token its pages carry."""

    email: str
    role: str
    cookie: str
    csrf: str
    login_id: int


def start_session(runtime: ApiRuntime, role: str, email: str | None = None) -> Operator:
    """A console session of a (new or existing) staff account, as the login would make."""
    with unit_of_work(runtime.sessions, runtime.deps) as uow:
        address = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        account = staff.find_by_email(uow.session, address) or staff.add_staff(
            uow.session, address, role
        )
        started = console_sessions.start(
            uow.session,
            account,
            method="code",
            ttl_s=runtime.settings.console_session_ttl_s,
            user_agent="tests",
            ip="127.0.0.1",
        )
        login_id = started.login.id
    csrf = token_for(csrf_key(runtime), started.cookie)
    return Operator(address, role, started.cookie, csrf, login_id)


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as ARTIFACTS/<name>.png (look at them)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_until(check: Callable[[], bool], timeout: float = 15) -> None:
    """Polled from the test: the console's CSP forbids the eval behind wait_for_function."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def add_event(sessions: sessionmaker[Session], engine: Engine, **given: Any) -> int:
    """An event stored and announced the way a worker's commit does (announce_changes)."""
    fields: dict[str, Any] = {
        "source": "stripe",
        "type": "payment_intent.succeeded",
        "external_id": f"evt_{uuid.uuid4().hex[:12]}",
        "status": "received",
        "payload": {"id": "pi_1", "amount": 4200, "currency": "eur"},
        "headers": {"content-type": "application/json"},
        "received_at": datetime.now(UTC),
        **given,
    }
    with sessions.begin() as session:
        event = Event(**fields)
        session.add(event)
        session.flush()
        event_id = event.id
    announce_changes(engine, env_deps())
    return event_id
