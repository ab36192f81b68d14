"""Fixtures of the console's tests.

- `console_client`: a TestClient on the whole API app (plain HTTP tests).
- `operator(role)`: a console session of a new staff account with that role; `signed_in`
  sets its cookie on `console_client`.
- `console_url`: the app served by uvicorn on a free port (for the browser);
  `served_runtime` is its runtime; `start_session(served_runtime, role)` a session on it.
- `browser`: Debian's chromium driven by Playwright; `open_page(browser, url, operator,
  phone=False, dark=False)` gives a page already logged in (the session cookie is set).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import sync_playwright

from api.app import create_app
from api.runtime import ApiRuntime
from pipeline.settings import Settings
from tests.api.conftest import api_client, api_env, api_runtime, api_settings
from tests.api.console.support import CHROMIUM, DESKTOP, PHONE, Operator, start_session
from tests.support.server import running
from tests.support.services import TestServices
from tests.support.smtp import Inbox, smtp_server

__all__ = ["api_client", "api_env", "api_runtime", "api_settings"]  # fixtures, for pytest


@pytest.fixture
def console_client(api_client: TestClient) -> TestClient:
    """On http://localhost: cookies there are not Secure (as on an operator's laptop)."""
    api_client.base_url = "http://localhost"  # type: ignore[assignment]
    return api_client


@pytest.fixture
def operator(api_runtime: ApiRuntime) -> Callable[..., Operator]:
    """`operator("viewer")`: a console session of a new account with that role."""

    def make(role: str = "operator", email: str | None = None) -> Operator:
        return start_session(api_runtime, role, email)

    return make


def signed_in(client: TestClient, who: Operator) -> TestClient:
    client.cookies.set("console", who.cookie)
    return client


@pytest.fixture
def inbox(api_env: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """A real SMTP server for the login codes; ask for it before the app or client."""
    with smtp_server() as (url, received):
        api_env.setenv("SMTP_URL", url)
        yield received


@pytest.fixture
def broker_url(services: TestServices, api_env: pytest.MonkeyPatch) -> str:
    """Replays and retries publish to this broker (Redis); ask for it before the app."""
    api_env.setenv("BROKER_URL", services.redis_url)
    return services.redis_url


@pytest.fixture
def console_app(api_settings: Settings) -> FastAPI:
    return create_app(api_settings)


@pytest.fixture
def console_url(console_app: FastAPI) -> Iterator[str]:
    """The whole API app served by uvicorn on a free port: its http:// base URL."""
    with running(console_app) as ws_url:
        yield ws_url.replace("ws://", "http://")


@pytest.fixture
def served_runtime(console_app: FastAPI, console_url: str) -> ApiRuntime:
    """The served app's runtime (its engine, Redis, signer), for the test's own use."""
    runtime: ApiRuntime = console_app.state.runtime
    return runtime


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is absent (apt-get install chromium)")
    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


def open_page(
    browser: Any,
    base_url: str,
    who: Operator | None = None,
    *,
    path: str = "/admin/",
    phone: bool = False,
    dark: bool = False,
) -> Any:
    """A new browser context (own cookies) and page at `path`, logged in as `who`.
    Requests to any other origin are recorded on `page.outside` (there must be none)."""
    context = browser.new_context(
        viewport=PHONE if phone else DESKTOP,
        color_scheme="dark" if dark else "light",
        device_scale_factor=1,
    )
    if who is not None:
        context.add_cookies([{"name": "console", "value": who.cookie, "url": base_url}])
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(base_url) else outside.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.outside = outside
    page.errors = errors
    page.goto(base_url + path)
    return page
