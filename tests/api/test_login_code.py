"""Login by e-mail code, end to end through a real SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from pipeline.auth import staff
from schema.staff import LoginCode, StaffUser
from tests.api.conftest import bearer
from tests.support.logs import log_records
from tests.support.smtp import Inbox, smtp_server

EMAIL = "ops@example.com"


@pytest.fixture
def inbox(api_env: pytest.MonkeyPatch) -> Iterator[Inbox]:
    with smtp_server() as (url, received):
        api_env.setenv("SMTP_URL", url)
        api_env.setenv("SMTP_FROM", "pipeline@example.com")
        yield received


@pytest.fixture
def client(inbox: Inbox, api_client: TestClient, db: sessionmaker[Session]) -> TestClient:
    with db.begin() as session:
        staff.add_staff(session, EMAIL, "operator")
    return api_client


def ask(client: TestClient, email: str = EMAIL) -> None:
    response = client.post("/api/v1/auth/code", json={"email": email})
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "accepted"


def verify(client: TestClient, code: str, email: str = EMAIL) -> tuple[int, dict[str, object]]:
    response = client.post("/api/v1/auth/code/verify", json={"email": email, "code": code})
    return response.status_code, response.json()


def test_code_arrives_by_smtp_and_logs_in(client: TestClient, inbox: Inbox) -> None:
    ask(client, "OPS@Example.com")
    [mail] = inbox.to(EMAIL)
    assert mail["From"] == "pipeline@example.com"
    status, tokens = verify(client, inbox.last_code(EMAIL))
    assert status == 200, tokens
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    me = client.get("/api/v1/auth/me", headers=bearer(str(tokens["access_token"]))).json()
    assert me["name"] == EMAIL and me["role"] == "operator"


def test_code_is_stored_hashed_and_works_once(
    client: TestClient, inbox: Inbox, db: sessionmaker[Session]
) -> None:
    ask(client)
    code = inbox.last_code(EMAIL)
    with db() as session:
        stored = session.scalars(select(LoginCode.code_hash)).one()
    assert code not in stored and len(stored) == 64
    assert verify(client, code)[0] == 200
    assert verify(client, code)[0] == 401


def test_unknown_and_inactive_addresses_get_the_same_answer_and_no_mail(
    client: TestClient, inbox: Inbox, db: sessionmaker[Session]
) -> None:
    with db.begin() as session:
        staff.add_staff(session, "gone@example.com", "admin").active = False
    ask(client, "nobody@example.com")
    ask(client, "gone@example.com")
    assert inbox.messages == []
    status, problem = verify(client, "123456", "nobody@example.com")
    assert status == 401 and problem["title"] == "Invalid code"


def test_five_wrong_tries_close_the_code(client: TestClient, inbox: Inbox) -> None:
    ask(client)
    code = inbox.last_code(EMAIL)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert verify(client, wrong)[0] == 401
    assert verify(client, code)[0] == 401  # the right one, too late


def test_expired_code_is_refused(
    client: TestClient, inbox: Inbox, db: sessionmaker[Session]
) -> None:
    ask(client)
    with db.begin() as session:
        past = datetime.now(UTC) - timedelta(seconds=1)
        session.execute(update(LoginCode).values(expires_at=past))
    assert verify(client, inbox.last_code(EMAIL))[0] == 401


def test_a_new_code_replaces_the_earlier_one(client: TestClient, inbox: Inbox) -> None:
    ask(client)
    first = inbox.last_code(EMAIL)
    ask(client)
    second = inbox.last_code(EMAIL)
    if first != second:
        assert verify(client, first)[0] == 401
    assert verify(client, second)[0] == 200


def test_allowed_domain_signs_up_as_the_configured_role(
    inbox: Inbox, api_env: pytest.MonkeyPatch, request: pytest.FixtureRequest,
    db: sessionmaker[Session],
) -> None:  # fmt: skip
    api_env.setenv("STAFF_SIGNUP_DOMAINS", "example.org, @corp.example")
    api_env.setenv("STAFF_SIGNUP_ROLE", "operator")
    client: TestClient = request.getfixturevalue("api_client")
    ask(client, "new@corp.example")
    ask(client, "stranger@elsewhere.example")
    assert [m["To"] for m in inbox.messages] == ["new@corp.example"]
    status, _ = verify(client, inbox.last_code("new@corp.example"), "new@corp.example")
    assert status == 200
    with db() as session:
        account = session.scalars(select(StaffUser)).one()
    assert (account.email, account.role) == ("new@corp.example", "operator")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/auth/code", {"email": "not-an-address"}, "email"),
        ("/api/v1/auth/code", {}, "email"),
        ("/api/v1/auth/code/verify", {"email": EMAIL, "code": "12ab56"}, "code"),
        ("/api/v1/auth/code/verify", {"email": EMAIL, "code": "1234567"}, "code"),
    ],
)
def test_invalid_bodies_are_422_with_field_errors(
    client: TestClient, path: str, body: dict[str, str], field: str
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["errors"][0]["loc"] == ["body", field]


def test_code_requests_are_limited_per_address(
    inbox: Inbox, api_env: pytest.MonkeyPatch, request: pytest.FixtureRequest,
    db: sessionmaker[Session],
) -> None:  # fmt: skip
    api_env.setenv("API_LOGIN_EMAIL_RATE_LIMIT", "2/minute")
    client: TestClient = request.getfixturevalue("api_client")
    ask(client)
    ask(client, EMAIL.upper())
    limited = client.post("/api/v1/auth/code", json={"email": EMAIL})
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 61
    ask(client, "other@example.com")  # another address still may


def test_login_endpoints_are_limited_per_address_of_the_client(
    inbox: Inbox, api_env: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    api_env.setenv("API_LOGIN_RATE_LIMIT", "3/minute")
    client: TestClient = request.getfixturevalue("api_client")
    statuses = [verify(client, "000000")[0] for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert client.post("/api/v1/auth/code", json={"email": EMAIL}).status_code == 429


def test_an_unreachable_smtp_server_still_answers_202_and_logs(
    api_env: pytest.MonkeyPatch, request: pytest.FixtureRequest, db: sessionmaker[Session]
) -> None:
    from tests.support.processes import free_port

    api_env.setenv("SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    api_env.setenv("SMTP_TIMEOUT_S", "2")
    with db.begin() as session:
        staff.add_staff(session, EMAIL, "viewer")
    with log_records("ERROR") as records:
        client: TestClient = request.getfixturevalue("api_client")
        ask(client)
    assert [r["message"] for r in records] == [f"login code mail to {EMAIL} not sent"]


def test_without_smtp_the_code_is_printed_as_development_mail(
    api_env: pytest.MonkeyPatch, request: pytest.FixtureRequest, db: sessionmaker[Session],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    with db.begin() as session:
        staff.add_staff(session, EMAIL, "viewer")
    client: TestClient = request.getfixturevalue("api_client")
    ask(client)
    printed = capsys.readouterr().out
    assert "DEVELOPMENT MAIL" in printed and f"To: {EMAIL}" in printed
    code = printed.split("Your login code: ")[1][:6]
    assert verify(client, code)[0] == 200
