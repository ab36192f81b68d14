"""Logging in to the console in a real browser (Debian's chromium via Playwright) against
the API served by uvicorn with real PostgreSQL and Redis: by a code read from the test SMTP
server, and through the fake OIDC provider; ending sessions and logging out.
Screenshots go to tests/artifacts/console/ (CONSOLE_ARTIFACTS)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.runtime import ApiRuntime
from pipeline.auth import staff
from schema.staff import StaffSession
from scripts.fakes.oidc import CLIENT_ID, CLIENT_SECRET, FakeOidcThread
from tests.api.console.conftest import open_page
from tests.api.console.support import shot, start_session, wait_until
from tests.support.smtp import Inbox

EMAIL = "ops@example.com"


@pytest.fixture
def oidc(api_env: pytest.MonkeyPatch) -> Iterator[FakeOidcThread]:
    fake = FakeOidcThread()
    discovery = f"{fake.url}/.well-known/openid-configuration"
    configured = {
        "corp": {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "discovery_url": discovery,
            "title": "Corporate SSO",
        }
    }
    api_env.setenv("OAUTH_PROVIDERS", json.dumps(configured))
    yield fake
    fake.stop()


def test_log_in_by_e_mail_code(
    inbox: Inbox, oidc: FakeOidcThread, console_url: str, browser: Any, db: sessionmaker[Session]
) -> None:
    with db.begin() as session:
        staff.add_staff(session, EMAIL, "operator")
    page = open_page(browser, console_url, path="/admin/sessions")
    assert page.url.endswith("/admin/login?next=%2Fadmin%2Fsessions")
    page.fill("input[name=email]", EMAIL)
    shot(page, "login")
    page.click("text=Send me a code")
    page.wait_for_selector("input[name=code]")
    page.fill("input[name=code]", inbox.last_code(EMAIL))
    shot(page, "login-code")
    page.click("button:has-text('Log in')")
    page.wait_for_selector("h1:has-text('Your sessions')")
    assert page.url.endswith("/admin/sessions")
    cookie = next(c for c in page.context.cookies() if c["name"] == "console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    assert page.locator(".badge-role").inner_text() == "operator"
    shot(page, "sessions")
    page.click("[data-test=logout]")
    page.wait_for_selector("input[name=email]")
    assert not [c for c in page.context.cookies() if c["name"] == "console"]
    assert page.outside == [] and page.errors == []


def test_log_in_through_oidc(
    oidc: FakeOidcThread, console_url: str, browser: Any, db: sessionmaker[Session]
) -> None:
    with db.begin() as session:
        staff.add_staff(session, "admin@example.com", "admin")
    oidc.log_in_as("admin@example.com")
    page = open_page(browser, console_url, path="/admin/login")
    page.click("[data-provider=corp]")
    page.wait_for_selector("h1:has-text('Dashboard')")
    assert page.locator(".badge-role").inner_text() == "admin"
    with db() as session:
        methods = session.scalars(select(StaffSession.method)).all()
    assert methods == ["console:oauth:corp"]


def test_end_another_session_after_confirming(
    console_url: str, served_runtime: ApiRuntime, browser: Any, db: sessionmaker[Session]
) -> None:
    who = start_session(served_runtime, "viewer")
    other = start_session(served_runtime, "viewer", who.email)
    page = open_page(browser, console_url, who, path="/admin/sessions")
    row = page.locator(f"tr[data-session='{other.login_id}']")
    row.locator("button:has-text('End')").click()
    page.wait_for_selector("#confirm-dialog[open]")
    shot(page, "confirm-dialog")
    page.click("#confirm-dialog [data-test=confirm-ok]")
    page.wait_for_selector(".toast-success")
    assert page.locator(f"tr[data-session='{other.login_id}']").count() == 0

    def revoked() -> bool:
        with db() as session:
            return session.get_one(StaffSession, other.login_id).revoked_at is not None

    wait_until(revoked)
    page.click("[data-theme-toggle]")
    assert page.locator("html").get_attribute("data-theme") == "dark"
    page.reload()
    assert page.locator("html").get_attribute("data-theme") == "dark"
    shot(page, "sessions-dark-toggled")
    phone = open_page(browser, console_url, who, path="/admin/sessions", phone=True)
    phone.wait_for_selector("tr[data-session]")
    shot(phone, "sessions-phone")
    login = open_page(browser, console_url, path="/admin/login", phone=True, dark=True)
    shot(login, "login-phone-dark")
