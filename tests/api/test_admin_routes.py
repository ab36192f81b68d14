"""Staff and API-key management: happy paths, every denial, validation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.auth.permissions import ALL_SCOPES
from schema.staff import ApiKey
from tests.api.conftest import bearer

Caller = Callable[[], dict[str, str]]


@pytest.fixture
def admin(staff_token: Callable[..., str]) -> dict[str, str]:
    return bearer(staff_token("admin", "root@example.com"))


@pytest.fixture
def denied(
    staff_token: Callable[..., str], api_key: Callable[..., str]
) -> dict[str, dict[str, str]]:
    """Callers without the admin scopes: each other role, a key with every other scope."""
    return {
        "viewer": bearer(staff_token("viewer")),
        "operator": bearer(staff_token("operator")),
        "key": {"X-API-Key": api_key(["events:read", "events:write", "backups:write"])},
    }


# (method, path, JSON body)
Route = tuple[str, str, dict[str, object] | None]
STAFF_ROUTES: list[Route] = [
    ("GET", "/api/v1/staff", None),
    ("POST", "/api/v1/staff", {"email": "x@example.com", "role": "viewer"}),
    ("GET", "/api/v1/staff/1", None),
    ("PATCH", "/api/v1/staff/1", {"role": "viewer"}),
    ("DELETE", "/api/v1/staff/1/sessions", None),
]
KEY_ROUTES: list[Route] = [
    ("GET", "/api/v1/apikeys", None),
    ("POST", "/api/v1/apikeys", {"name": "n", "scopes": ["events:read"]}),
    ("DELETE", "/api/v1/apikeys/1", None),
]


@pytest.mark.parametrize(("method", "path", "body"), STAFF_ROUTES + KEY_ROUTES)
def test_admin_routes_need_credentials_and_the_admin_scope(
    api_client: TestClient,
    denied: dict[str, dict[str, str]],
    method: str,
    path: str,
    body: dict[str, object] | None,
) -> None:
    assert api_client.request(method, path, json=body).status_code == 401
    for who, headers in denied.items():
        response = api_client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, who
        assert response.json()["detail"].startswith("this needs the ")


def test_staff_lifecycle(api_client: TestClient, admin: dict[str, str]) -> None:
    created = api_client.post(
        "/api/v1/staff", json={"email": "New.Op@Example.com", "role": "operator"}, headers=admin
    )
    assert created.status_code == 201, created.text
    account = created.json()
    assert account["email"] == "new.op@example.com" and account["active"] is True
    again = api_client.post(
        "/api/v1/staff", json={"email": "new.op@example.com", "role": "viewer"}, headers=admin
    )
    assert again.status_code == 409
    emails = [s["email"] for s in api_client.get("/api/v1/staff", headers=admin).json()]
    assert emails == ["root@example.com", "new.op@example.com"]
    path = f"/api/v1/staff/{account['id']}"
    assert api_client.get(path, headers=admin).json()["role"] == "operator"
    changed = api_client.patch(path, json={"role": "viewer", "active": False}, headers=admin)
    assert changed.json()["role"] == "viewer" and changed.json()["active"] is False
    assert api_client.delete(f"{path}/sessions", headers=admin).status_code == 204


def test_deactivating_or_revoking_ends_the_accounts_sessions(
    api_client: TestClient, admin: dict[str, str], staff_token: Callable[..., str]
) -> None:
    victim = staff_token("operator", "victim@example.com")
    victim_id = api_client.get("/api/v1/auth/me", headers=bearer(victim)).json()["id"]
    assert (
        api_client.delete(f"/api/v1/staff/{victim_id}/sessions", headers=admin).status_code == 204
    )
    assert api_client.get("/api/v1/auth/me", headers=bearer(victim)).status_code == 401
    victim = staff_token("operator", "victim@example.com")
    api_client.patch(f"/api/v1/staff/{victim_id}", json={"active": False}, headers=admin)
    assert api_client.get("/api/v1/auth/me", headers=bearer(victim)).status_code == 401


def test_admins_cannot_demote_or_deactivate_themselves(
    api_client: TestClient, admin: dict[str, str]
) -> None:
    own_id = api_client.get("/api/v1/auth/me", headers=admin).json()["id"]
    for change in ({"role": "operator"}, {"active": False}):
        assert (
            api_client.patch(f"/api/v1/staff/{own_id}", json=change, headers=admin).status_code
            == 409
        )
    assert (
        api_client.patch(
            f"/api/v1/staff/{own_id}", json={"role": "admin"}, headers=admin
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/staff", {"email": "nope", "role": "viewer"}),
        ("POST", "/api/v1/staff", {"email": "a@example.com", "role": "root"}),
        ("PATCH", "/api/v1/staff/1", {"role": "owner"}),
        ("GET", "/api/v1/staff/abc", None),
        ("POST", "/api/v1/apikeys", {"name": "n", "scopes": []}),
        ("POST", "/api/v1/apikeys", {"name": "n", "scopes": ["events:destroy"]}),
        ("POST", "/api/v1/apikeys", {"name": "   ", "scopes": ["events:read"]}),
        ("POST", "/api/v1/apikeys", {"name": "n" * 101, "scopes": ["events:read"]}),
        ("GET", "/api/v1/apikeys?include_revoked=maybe", None),
    ],
)
def test_invalid_input_is_422(
    api_client: TestClient, admin: dict[str, str], method: str, path: str, body: object
) -> None:
    response = api_client.request(method, path, json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["errors"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/staff/999"), ("PATCH", "/api/v1/staff/999"),
     ("DELETE", "/api/v1/staff/999/sessions"), ("DELETE", "/api/v1/apikeys/999")],
)  # fmt: skip
def test_unknown_ids_are_404(
    api_client: TestClient, admin: dict[str, str], method: str, path: str
) -> None:
    body = {"role": "viewer"} if method == "PATCH" else None
    assert api_client.request(method, path, json=body, headers=admin).status_code == 404


def test_api_key_is_shown_once_works_for_its_scopes_and_stops_when_revoked(
    api_client: TestClient, admin: dict[str, str], db: sessionmaker[Session]
) -> None:
    created = api_client.post(
        "/api/v1/apikeys",
        json={"name": " exporter ", "scopes": ["stats:read", "events:read", "stats:read"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    key = body["key"]
    assert key.startswith(f"pk_{body['prefix']}_") and body["name"] == "exporter"
    assert body["scopes"] == ["events:read", "stats:read"] and body["last_used_at"] is None
    listed = api_client.get("/api/v1/apikeys", headers=admin).json()
    assert [k["id"] for k in listed] == [body["id"]] and "key" not in listed[0]
    with db() as session:
        stored = session.scalars(select(ApiKey)).one()
    assert key not in (stored.key_hash, stored.prefix)

    me = api_client.get("/api/v1/auth/me", headers={"X-API-Key": key}).json()
    assert (me["kind"], me["name"]) == ("apikey", "exporter")
    assert api_client.get("/api/v1/staff", headers={"X-API-Key": key}).status_code == 403
    used = api_client.get("/api/v1/apikeys", headers=admin).json()[0]
    assert used["last_used_at"] is not None

    assert api_client.delete(f"/api/v1/apikeys/{body['id']}", headers=admin).status_code == 204
    assert api_client.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 401
    assert api_client.get("/api/v1/apikeys", headers=admin).json() == []
    revoked = api_client.get("/api/v1/apikeys?include_revoked=true", headers=admin).json()
    assert revoked[0]["revoked_at"] is not None


def test_nobody_grants_more_than_they_hold(
    api_client: TestClient, api_key: Callable[..., str]
) -> None:
    headers = {"X-API-Key": api_key(["apikeys:admin", "staff:admin", "events:read"])}
    weaker = {"name": "child", "scopes": ["events:read"]}
    stronger = {"name": "child", "scopes": ["events:read", "events:write"]}
    assert api_client.post("/api/v1/apikeys", json=weaker, headers=headers).status_code == 201
    refused = api_client.post("/api/v1/apikeys", json=stronger, headers=headers)
    assert refused.status_code == 403 and "events:write" in refused.json()["detail"]
    for role in ("viewer", "admin"):
        body = {"email": f"{role}@example.com", "role": role}
        assert api_client.post("/api/v1/staff", json=body, headers=headers).status_code == 403


def test_a_key_with_admin_scopes_manages_keys(
    api_client: TestClient, api_key: Callable[..., str]
) -> None:
    headers = {"X-API-Key": api_key(sorted(ALL_SCOPES))}
    created = api_client.post(
        "/api/v1/apikeys", json={"name": "child", "scopes": ["events:read"]}, headers=headers
    )
    assert created.status_code == 201
    assert api_client.get("/api/v1/staff", headers=headers).status_code == 200
