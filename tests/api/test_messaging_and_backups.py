"""Broadcasts, feedback replies through the outbox, backup runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from schema import FeedbackMessage, Notification, User
from schema.operations import BackupRun
from tests.api.conftest import bearer
from tests.support.services import TestServices


@pytest.fixture(autouse=True)
def with_broker(services: TestServices, api_env: pytest.MonkeyPatch) -> None:
    api_env.setenv("BROKER_URL", services.redis_url)


@pytest.fixture
def viewer(staff_token: Callable[..., str]) -> dict[str, str]:
    return bearer(staff_token("viewer"))


@pytest.fixture
def operator(staff_token: Callable[..., str]) -> dict[str, str]:
    return bearer(staff_token("operator"))


def _users(db: sessionmaker[Session]) -> list[int]:
    with db() as session:
        users = [
            User(telegram_id=700 + n, chat_id=700 + n, language="ru" if n % 2 else "en")
            for n in range(4)
        ]
        session.add_all(users)
        session.commit()
        return [u.id for u in users]


def test_broadcast_create_progress_cancel(
    api_client: TestClient, db: sessionmaker[Session], operator: dict[str, str],
    viewer: dict[str, str],
) -> None:  # fmt: skip
    _users(db)
    body = {"text": "Sale today", "language": "ru"}
    assert api_client.post("/api/v1/broadcasts", json=body, headers=viewer).status_code == 403
    created = api_client.post("/api/v1/broadcasts", json=body, headers=operator)
    assert created.status_code == 201, created.text
    broadcast = created.json()
    assert (
        broadcast["total"] == 2 and broadcast["remaining"] == 2 and broadcast["status"] == "running"
    )
    shown = api_client.get(f"/api/v1/broadcasts/{broadcast['id']}", headers=viewer).json()
    assert shown["remaining"] == 2
    canceled = api_client.post(f"/api/v1/broadcasts/{broadcast['id']}/cancel", headers=operator)
    assert canceled.json()["status"] == "canceled" and canceled.json()["remaining"] == 0
    assert canceled.json()["canceled"] == 2 and canceled.json()["failed"] == 0
    again = api_client.post(f"/api/v1/broadcasts/{broadcast['id']}/cancel", headers=operator)
    assert again.status_code == 409
    listed = api_client.get("/api/v1/broadcasts", headers=viewer).json()
    assert [b["id"] for b in listed["items"]] == [broadcast["id"]]
    for bad in (
        {"text": ""},
        {"text": "x", "language": "russian"},
        {"text": "x", "audience": "vip"},
    ):
        answer = api_client.post("/api/v1/broadcasts", json=bad, headers=operator)
        assert answer.status_code == 422, bad
    assert api_client.get("/api/v1/broadcasts/999", headers=viewer).status_code == 404


def test_feedback_threads_and_a_reply_goes_to_the_outbox(
    api_client: TestClient, db: sessionmaker[Session], operator: dict[str, str],
    viewer: dict[str, str],
) -> None:  # fmt: skip
    first, second, *_ = _users(db)
    with db() as session:
        for user_id, text in ((first, "where is my order?"), (second, "thanks!")):
            session.add(
                FeedbackMessage(user_id=user_id, direction="in", text=text,
                                user_chat_id=user_id, operator_chat_id=-100)
            )  # fmt: skip
        session.commit()
    threads = api_client.get("/api/v1/feedback/threads", headers=viewer).json()
    assert [t["user_id"] for t in threads["items"]] == [second, first]
    page = api_client.get("/api/v1/feedback/threads", params={"limit": 1}, headers=viewer).json()
    rest = api_client.get(
        "/api/v1/feedback/threads", params={"cursor": page["next_cursor"]}, headers=viewer
    ).json()
    assert [t["user_id"] for t in rest["items"]] == [first]

    reply = {"text": "It ships tomorrow."}
    path = f"/api/v1/feedback/threads/{first}/reply"
    assert api_client.post(path, json=reply, headers=viewer).status_code == 403
    answer = api_client.post(path, json=reply, headers=operator)
    assert answer.status_code == 201, answer.text
    messages = api_client.get(f"/api/v1/feedback/threads/{first}", headers=viewer).json()
    assert [(m["direction"], m["text"]) for m in messages] == [
        ("in", "where is my order?"), ("out", "It ships tomorrow."),
    ]  # fmt: skip
    with db() as session:
        note = session.scalars(select(Notification)).one()
    assert (
        note.kind == "feedback_reply"
        and note.text == "It ships tomorrow."
        and note.status == "pending"
    )
    assert api_client.post(path, json={"text": ""}, headers=operator).status_code == 422
    missing = api_client.post("/api/v1/feedback/threads/999/reply", json=reply, headers=operator)
    assert missing.status_code == 404


def test_backups_list_start_and_verify(
    api_client: TestClient, db: sessionmaker[Session], operator: dict[str, str],
    staff_token: Callable[..., str],
) -> None:  # fmt: skip
    """Starting and verifying backups is for admins (backups:write); operators read."""
    admin = bearer(staff_token("admin"))
    now = datetime.now(UTC)
    with db() as session:
        session.add_all([
            BackupRun(started_at=now, finished_at=now, ok=True, file="/backups/a.dump"),
            BackupRun(started_at=now, finished_at=now, ok=False, error="pg_dump failed"),
        ])  # fmt: skip
        session.commit()
    runs = api_client.get("/api/v1/backups", headers=operator).json()["items"]
    assert [r["ok"] for r in runs] == [False, True]
    assert api_client.post("/api/v1/backups", headers=operator).status_code == 403
    assert api_client.post("/api/v1/backups/1/verify", headers=operator).status_code == 403
    started = api_client.post("/api/v1/backups", headers=admin)
    assert started.status_code == 202 and started.json()["queued"] == "workers.backup"
    assert api_client.post("/api/v1/backups/1/verify", headers=admin).status_code == 202
    assert api_client.post("/api/v1/backups/2/verify", headers=admin).status_code == 409
    assert api_client.post("/api/v1/backups/9/verify", headers=admin).status_code == 404
