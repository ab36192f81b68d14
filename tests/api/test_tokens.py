"""Access and refresh tokens: rotation, reuse detection, logout, own sessions."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.auth.login import log_in
from api.runtime import ApiRuntime
from pipeline.auth import staff
from pipeline.auth.tokens import TokenSigner, UnsafeSigningKey, check_signing_key
from pipeline.unit_of_work import unit_of_work
from tests.api.conftest import JWT_SECRET, bearer

EMAIL = "ops@example.com"


@pytest.fixture
def login(api_runtime: ApiRuntime) -> Callable[[], dict[str, str]]:
    """A fresh login of one account: its token pair, as the login routes answer it."""
    with unit_of_work(api_runtime.sessions, api_runtime.deps) as uow:
        staff.add_staff(uow.session, EMAIL, "operator")

    def make() -> dict[str, str]:
        with unit_of_work(api_runtime.sessions, api_runtime.deps) as uow:
            account = staff.find_by_email(uow.session, EMAIL)
            assert account is not None
            pair = log_in(api_runtime, uow.session, account, "code")
        return {k: str(v) for k, v in pair.model_dump().items()}

    return make


def refresh(client: TestClient, token: str) -> tuple[int, dict[str, str]]:
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": token})
    return response.status_code, response.json()


def me_status(client: TestClient, access: str) -> int:
    # TestClient is typed against httpx2, which is not installed: its answers are Any.
    response: httpx.Response = client.get("/api/v1/auth/me", headers=bearer(access))
    return response.status_code


def test_refresh_rotates_and_a_reused_token_revokes_the_session(
    api_client: TestClient, login: Callable[[], dict[str, str]]
) -> None:
    first = login()
    status, second = refresh(api_client, first["refresh_token"])
    assert status == 200 and second["refresh_token"] != first["refresh_token"]
    assert str(second["session_id"]) == first["session_id"]
    assert me_status(api_client, second["access_token"]) == 200
    # The first token again: somebody kept a copy. The whole session ends.
    status, problem = refresh(api_client, first["refresh_token"])
    assert status == 401 and "already used" in problem["detail"]
    assert refresh(api_client, second["refresh_token"])[0] == 401
    assert me_status(api_client, second["access_token"]) == 401


def test_unknown_refresh_token_is_401_and_malformed_is_422(api_client: TestClient) -> None:
    assert refresh(api_client, "rt_" + "x" * 40)[0] == 401
    assert refresh(api_client, "short")[0] == 422


def test_logout_ends_only_this_session(
    api_client: TestClient, login: Callable[[], dict[str, str]]
) -> None:
    phone, laptop = login(), login()
    assert (
        api_client.post("/api/v1/auth/logout", headers=bearer(phone["access_token"])).status_code
        == 204
    )
    assert me_status(api_client, phone["access_token"]) == 401
    assert refresh(api_client, phone["refresh_token"])[0] == 401
    assert me_status(api_client, laptop["access_token"]) == 200


def test_logout_everywhere_ends_every_session(
    api_client: TestClient, login: Callable[[], dict[str, str]]
) -> None:
    phone, laptop = login(), login()
    response = api_client.post("/api/v1/auth/logout-all", headers=bearer(phone["access_token"]))
    assert response.status_code == 204
    for pair in (phone, laptop):
        assert me_status(api_client, pair["access_token"]) == 401
        assert refresh(api_client, pair["refresh_token"])[0] == 401


def test_own_sessions_are_listed_and_ended_one_by_one(
    api_client: TestClient, login: Callable[[], dict[str, str]], staff_token: Callable[..., str]
) -> None:
    phone, laptop = login(), login()
    headers = bearer(phone["access_token"])
    listed = api_client.get("/api/v1/auth/sessions", headers=headers).json()
    assert {s["id"]: s["current"] for s in listed} == {
        int(phone["session_id"]): True,
        int(laptop["session_id"]): False,
    }
    path = f"/api/v1/auth/sessions/{laptop['session_id']}"
    assert api_client.delete(path, headers=headers).status_code == 204
    assert me_status(api_client, laptop["access_token"]) == 401
    assert api_client.delete(path, headers=headers).status_code == 404  # already ended
    # Somebody else's session is not found, not revoked.
    other = bearer(staff_token("admin"))
    assert (
        api_client.delete(f"/api/v1/auth/sessions/{phone['session_id']}", headers=other).status_code
        == 404
    )
    assert me_status(api_client, phone["access_token"]) == 200


def test_api_keys_have_no_session_to_end(
    api_client: TestClient, api_key: Callable[..., str]
) -> None:
    headers = {"X-API-Key": api_key(["events:read"])}
    for path in ("/api/v1/auth/logout", "/api/v1/auth/logout-all"):
        assert api_client.post(path, headers=headers).status_code == 403
    assert api_client.get("/api/v1/auth/sessions", headers=headers).status_code == 403


def test_deactivation_and_role_changes_apply_to_existing_tokens(
    api_client: TestClient, login: Callable[[], dict[str, str]], db: sessionmaker[Session]
) -> None:
    access = login()["access_token"]
    with db.begin() as session:
        account = staff.find_by_email(session, EMAIL)
        assert account is not None
        staff.update_staff(session, account, role="viewer")
    assert (
        "events:write"
        not in api_client.get("/api/v1/auth/me", headers=bearer(access)).json()["scopes"]
    )
    with db.begin() as session:
        account = staff.find_by_email(session, EMAIL)
        assert account is not None
        staff.update_staff(session, account, active=False)
    assert me_status(api_client, access) == 401


def test_expired_forged_and_foreign_tokens_are_refused(
    api_client: TestClient, login: Callable[[], dict[str, str]]
) -> None:
    pair = login()
    signer = TokenSigner(JWT_SECRET, ttl_s=60)
    session_id = int(pair["session_id"])
    staff_id = int(
        api_client.get("/api/v1/auth/me", headers=bearer(pair["access_token"])).json()["id"]
    )
    expired = signer.issue(staff_id, session_id, now=time.time() - 3600)
    foreign = TokenSigner("another-key-" + "k" * 40, ttl_s=60).issue(staff_id, session_id)
    wrong_session = signer.issue(staff_id, session_id + 1000)
    for token in (expired, foreign, wrong_session, pair["access_token"][:-4] + "AAAA"):
        assert me_status(api_client, token) == 401
    assert me_status(api_client, signer.issue(staff_id, session_id)) == 200


@pytest.mark.parametrize(
    "key", [None, "", "   ", "short", "change-me-" + "x" * 40, "my-super-SECRET-" + "y" * 30]
)
def test_empty_or_placeholder_signing_keys_are_refused(key: str | None) -> None:
    with pytest.raises(UnsafeSigningKey):
        check_signing_key(key)
