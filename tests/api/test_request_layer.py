"""The request's unit of work, its log context, and 4xx rather than 5xx for bad values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from loguru import logger
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from api.deps import SessionDep, UnitOfWorkDep
from api.errors import ProblemError
from schema.staff import StaffUser
from tests.api.conftest import bearer
from tests.support.logs import log_records as capture_logs

if TYPE_CHECKING:
    from loguru import Record  # in loguru's stubs only


def staff_count(db: sessionmaker[Session]) -> int:
    with db() as session:
        return int(session.scalar(select(func.count()).select_from(StaffUser)) or 0)


@pytest.fixture
def client(api_client: TestClient, db: sessionmaker[Session]) -> TestClient:
    """The API with three extra routes that exercise the request layer."""
    app: FastAPI = api_client.app  # type: ignore[assignment]
    jobs: list[int] = []
    app.state.jobs = jobs

    def write(uow: UnitOfWorkDep, fail: bool = False) -> dict[str, bool]:
        uow.session.add(StaffUser(email="w@example.com", role="viewer"))
        uow.session.flush()
        uow.after_commit(lambda: jobs.append(staff_count(db)))
        logger.info("writing a staff row")
        if fail:
            raise ProblemError(409, "Conflict", "refused after writing")
        return {"ok": True}

    def nul(session: SessionDep) -> dict[str, Any]:
        return {"v": session.scalar(text("SELECT CAST(:v AS text)"), {"v": "a\x00b"})}

    app.add_api_route("/test/write", write, methods=["POST"])
    app.add_api_route("/test/nul", nul, methods=["GET"])
    return api_client


def test_a_request_commits_before_its_jobs_and_answers(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    assert client.post("/test/write").status_code == 200
    assert client.app.state.jobs == [1]  # type: ignore[attr-defined]


def test_a_failed_request_rolls_back_and_runs_no_job(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    response = client.post("/test/write?fail=true")
    assert response.status_code == 409 and response.json()["detail"] == "refused after writing"
    assert staff_count(db) == 0 and client.app.state.jobs == []  # type: ignore[attr-defined]


@pytest.fixture
def log_records() -> Iterator[list[Record]]:
    with capture_logs("INFO") as records:
        yield records


def test_log_lines_carry_the_request_id(client: TestClient, log_records: list[Record]) -> None:
    client.post("/test/write", headers={"X-Request-ID": "trace-me-1"})
    [line] = [r for r in log_records if r["message"] == "writing a staff row"]
    assert line["extra"]["request_id"] == "trace-me-1"


def test_a_value_the_database_refuses_is_422_not_500(client: TestClient) -> None:
    response = client.get("/test/nul")
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/staff/99999999999999999999"), ("GET", "/api/v1/staff/0"),
     ("DELETE", "/api/v1/apikeys/-1"), ("DELETE", "/api/v1/auth/sessions/9223372036854775808")],
)  # fmt: skip
def test_ids_outside_bigint_are_422(
    client: TestClient, staff_token: Any, method: str, path: str
) -> None:
    response = client.request(method, path, headers=bearer(staff_token("admin")))
    assert response.status_code == 422, response.text


def test_control_characters_in_a_key_name_are_422(client: TestClient, staff_token: Any) -> None:
    body = {"name": "a\x00b", "scopes": ["events:read"]}
    response = client.post("/api/v1/apikeys", json=body, headers=bearer(staff_token("admin")))
    assert response.status_code == 422


def test_a_crash_is_a_500_problem_with_the_request_id(api_client: TestClient) -> None:
    app: FastAPI = api_client.app  # type: ignore[assignment]

    def crash() -> None:
        raise RuntimeError("unexpected")

    app.add_api_route("/test/crash", crash)
    client = TestClient(app, raise_server_exceptions=False)
    response = client.get("/test/crash", headers={"X-Request-ID": "crash-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "crash-1"
    problem = response.json()
    assert problem["request_id"] == "crash-1" and "unexpected" not in problem["detail"]
