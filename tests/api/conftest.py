"""The operator API against real PostgreSQL and Redis.

`api_client` is a TestClient on `create_app`; `staff_token(role)` and `api_key(scopes)`
make real accounts and keys through the same services the login routes and the CLI use,
so resource tests authenticate the way real callers do.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.auth.login import log_in
from api.runtime import ApiRuntime
from pipeline.auth import apikeys, staff
from pipeline.settings import Settings, get_settings
from pipeline.unit_of_work import unit_of_work
from tests.support.services import TestServices

JWT_SECRET = secrets.token_urlsafe(48)


@pytest.fixture
def api_env(
    db: sessionmaker[Session], services: TestServices, monkeypatch: pytest.MonkeyPatch
) -> pytest.MonkeyPatch:
    """Settings of a test API: real services, a signing key, its own rate-limit buckets.
    Tests set more variables on the returned monkeypatch before asking for `api_settings`."""
    monkeypatch.setenv("REDIS_URL", services.redis_client_url)
    monkeypatch.setenv("API_JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("QUEUE_PREFIX", f"t{uuid.uuid4().hex[:8]}-")
    # Every test client is one address: room for many logins (limit tests set their own).
    monkeypatch.setenv("API_LOGIN_RATE_LIMIT", "1000/minute")
    return monkeypatch


@pytest.fixture
def api_settings(api_env: pytest.MonkeyPatch) -> Settings:
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def api_client(api_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(api_settings)) as client:
        yield client


@pytest.fixture
def api_runtime(api_client: TestClient) -> ApiRuntime:
    runtime: ApiRuntime = api_client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


@pytest.fixture
def staff_token(api_runtime: ApiRuntime) -> Callable[..., str]:
    """`staff_token("operator")`: an access token of a new staff account with that role."""

    def make(role: str = "admin", email: str | None = None) -> str:
        with unit_of_work(api_runtime.sessions, api_runtime.deps) as uow:
            account = staff.find_by_email(uow.session, email) if email else None
            if account is None:
                address = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
                account = staff.add_staff(uow.session, address, role)
            tokens = log_in(api_runtime, uow.session, account, "code")
        return tokens.access_token

    return make


@pytest.fixture
def api_key(api_runtime: ApiRuntime) -> Callable[..., str]:
    """`api_key(["events:read"])`: a new API key holding those scopes."""

    def make(scopes: list[str], name: str = "test key") -> str:
        with unit_of_work(api_runtime.sessions, api_runtime.deps) as uow:
            return apikeys.create_key(uow.session, name, scopes).key

    return make


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
