"""OAuth2/OIDC login: the whole redirect, code and token exchange, against the in-repo
fake provider over real HTTP (scripts/fakes/oidc.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.auth import staff
from schema.staff import StaffSession, StaffUser
from scripts.fakes.oidc import CLIENT_ID, CLIENT_SECRET, FakeOidcThread
from tests.api.conftest import bearer
from tests.support.processes import free_port

EMAIL = "admin@example.com"


@pytest.fixture
def provider() -> Iterator[FakeOidcThread]:
    fake = FakeOidcThread()
    yield fake
    fake.stop()


@pytest.fixture
def client(
    provider: FakeOidcThread,
    api_env: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    db: sessionmaker[Session],
) -> TestClient:
    url = provider.url
    client = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    configured = {
        "corp": {**client, "discovery_url": f"{url}/.well-known/openid-configuration",
                 "title": "Corporate SSO"},
        "google": {**client, "discovery_url": f"{url}/.well-known/openid-configuration"},
        "github": {**client, "authorize_url": f"{url}/authorize", "token_url": f"{url}/token",
                   "userinfo_url": f"{url}/user/emails"},
        "yandex": {**client, "authorize_url": f"{url}/authorize", "token_url": f"{url}/token",
                   "userinfo_url": f"{url}/info"},
    }  # fmt: skip
    api_env.setenv("OAUTH_PROVIDERS", json.dumps(configured))
    with db.begin() as session:
        staff.add_staff(session, EMAIL, "admin")
    test_client: TestClient = request.getfixturevalue("api_client")
    return test_client


def provider_redirect(client: TestClient, name: str) -> str:
    """Start the login and follow the browser to the provider, which approves at once:
    the callback URL (path and query) it sends the browser back to."""
    start = client.get(f"/api/v1/auth/oauth/{name}/login", follow_redirects=False)
    assert start.status_code == 302, start.text
    authorize = start.headers["location"]
    query = parse_qs(urlparse(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["state"]
    back = httpx.get(authorize, follow_redirects=False)  # real HTTP to the provider
    assert back.status_code == 302, back.text
    callback = urlparse(back.headers["location"])
    assert callback.path == f"/api/v1/auth/oauth/{name}/callback"
    return f"{callback.path}?{callback.query}"


def log_in(client: TestClient, name: str) -> httpx.Response:
    # TestClient is typed against httpx2, which is not installed: its answers are Any.
    response: httpx.Response = client.get(provider_redirect(client, name))
    return response


@pytest.mark.parametrize("name", ["corp", "google", "github", "yandex"])
def test_login_through_each_kind_of_provider(
    client: TestClient, name: str, db: sessionmaker[Session]
) -> None:
    response = log_in(client, name)
    assert response.status_code == 200, response.text
    me = client.get("/api/v1/auth/me", headers=bearer(response.json()["access_token"])).json()
    assert (me["name"], me["role"]) == (EMAIL, "admin")
    with db() as session:
        assert session.scalars(select(StaffSession.method)).one() == f"oauth:{name}"


def test_configured_providers_are_listed(client: TestClient) -> None:
    listed = {p["name"]: p for p in client.get("/api/v1/auth/oauth/providers").json()}
    assert sorted(listed) == ["corp", "github", "google", "yandex"]
    assert listed["corp"]["title"] == "Corporate SSO"
    assert listed["yandex"]["title"] == "Yandex ID"
    assert listed["github"]["login_url"] == "/api/v1/auth/oauth/github/login"


def test_an_address_without_account_is_refused_unless_its_domain_may_sign_up(
    client: TestClient, provider: FakeOidcThread
) -> None:
    provider.log_in_as("stranger@example.com")
    response = log_in(client, "corp")
    assert response.status_code == 403
    assert "no active staff account" in response.json()["detail"]


def test_allowed_domain_signs_up(
    provider: FakeOidcThread, api_env: pytest.MonkeyPatch, request: pytest.FixtureRequest,
    db: sessionmaker[Session],
) -> None:  # fmt: skip
    api_env.setenv("STAFF_SIGNUP_DOMAINS", "corp.example")
    client: TestClient = request.getfixturevalue("client")
    provider.log_in_as("new@corp.example")
    assert log_in(client, "corp").status_code == 200
    with db() as session:
        created = session.scalars(select(StaffUser).where(StaffUser.email == "new@corp.example"))
        assert created.one().role == "viewer"


@pytest.mark.parametrize("name", ["corp", "github"])
def test_an_unverified_address_is_refused(
    client: TestClient, provider: FakeOidcThread, name: str
) -> None:
    provider.log_in_as(EMAIL, verified=False)
    response = log_in(client, name)
    assert response.status_code == 401
    assert response.json()["title"] == "Login failed"


@pytest.mark.parametrize("tamper", ["signature", "audience", "nonce", "expired", "issuer"])
def test_a_spoiled_id_token_is_refused(
    client: TestClient, provider: FakeOidcThread, tamper: str
) -> None:
    provider.log_in_as(EMAIL, tamper=tamper)
    response = log_in(client, "corp")
    assert response.status_code == 401, (tamper, response.text)


def test_a_callback_cannot_be_replayed_or_forged(client: TestClient) -> None:
    callback = provider_redirect(client, "corp")
    assert client.get(callback).status_code == 200
    assert client.get(callback).status_code == 401  # the state was taken out
    forged = client.get("/api/v1/auth/oauth/corp/callback?code=abc&state=made-up")
    assert forged.status_code == 401


def test_a_state_works_only_with_its_own_provider(client: TestClient) -> None:
    callback = provider_redirect(client, "github")
    elsewhere = callback.replace("/oauth/github/", "/oauth/yandex/")
    assert client.get(elsewhere).status_code == 401


def test_unknown_provider_and_missing_parameters(client: TestClient) -> None:
    assert client.get("/api/v1/auth/oauth/nope/login", follow_redirects=False).status_code == 404
    assert client.get("/api/v1/auth/oauth/nope/callback?code=a&state=b").status_code == 404
    missing = client.get("/api/v1/auth/oauth/corp/callback?state=b")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["loc"] == ["query", "code"]


def test_the_public_url_makes_the_redirect_uri(
    provider: FakeOidcThread, api_env: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    api_env.setenv("API_PUBLIC_URL", "https://ops.example.com/")
    client: TestClient = request.getfixturevalue("client")
    start = client.get("/api/v1/auth/oauth/corp/login", follow_redirects=False)
    query = parse_qs(urlparse(start.headers["location"]).query)
    assert query["redirect_uri"] == ["https://ops.example.com/api/v1/auth/oauth/corp/callback"]


def test_an_unreachable_provider_is_a_502(
    api_env: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration"
    configured = {"down": {"client_id": "x", "client_secret": "y", "discovery_url": closed}}
    api_env.setenv("OAUTH_PROVIDERS", json.dumps(configured))
    client: TestClient = request.getfixturevalue("api_client")
    response = client.get("/api/v1/auth/oauth/down/login", follow_redirects=False)
    assert response.status_code == 502
    assert response.json()["title"] == "Provider unavailable"
    assert "127.0.0.1" not in response.text  # the failure's own text stays in the log


def test_a_refusal_names_the_error_code_not_the_providers_text(
    provider: FakeOidcThread, api_env: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """What a provider (or whoever sits in between) writes is not shown on our login page."""
    url = provider.url
    configured = {
        "corp": {"client_id": CLIENT_ID, "client_secret": "not-the-secret",
                 "discovery_url": f"{url}/.well-known/openid-configuration"},
    }  # fmt: skip
    api_env.setenv("OAUTH_PROVIDERS", json.dumps(configured))
    client: TestClient = request.getfixturevalue("api_client")
    response = log_in(client, "corp")
    assert response.status_code == 401
    detail = response.json()["detail"]
    assert detail == "login with corp failed: the provider refused the login (invalid_client)"
    assert "bad client credentials" not in response.text
