"""Events resource: filtered keyset pages, one event in full, replay, bulk retry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from schema.events import Event
from schema.operations import EventAttempt
from tests.api.conftest import bearer
from tests.support.services import TestServices

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _seed(db: sessionmaker[Session]) -> None:
    with db() as session:
        for n in range(30):
            session.add(
                Event(
                    source="stripe" if n % 3 else "tbank",
                    type="payment" if n % 2 else "refund",
                    external_id=f"ev-{n}",
                    status="dead" if n % 5 == 0 else "processed",
                    payload={"order": f"o-{n}", "note": "100% sure" if n == 7 else "plain"},
                    headers={"content-type": "application/json"},
                    received_at=T0 + timedelta(minutes=n),
                    last_error="boom" if n % 5 == 0 else None,
                )
            )
        session.flush()
        session.add(EventAttempt(event_id=1, attempt=1, outcome="dead", error="boom"))
        session.commit()


@pytest.fixture
def reader(staff_token: Callable[..., str]) -> dict[str, str]:
    return bearer(staff_token("viewer"))


@pytest.fixture
def operator(staff_token: Callable[..., str]) -> dict[str, str]:
    return bearer(staff_token("operator"))


def test_pages_follow_the_cursor_newest_first_to_the_end(
    api_client: TestClient, db: sessionmaker[Session], reader: dict[str, str]
) -> None:
    _seed(db)
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = api_client.get("/api/v1/events", params=params, headers=reader).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(30, 0, -1))
    exact = api_client.get("/api/v1/events", params={"limit": 30}, headers=reader).json()
    assert len(exact["items"]) == 30 and exact["next_cursor"] is None


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"source": "tbank"}, {n for n in range(30) if n % 3 == 0}),
        ({"status": "dead", "type": "refund"}, {n for n in range(30) if n % 10 == 0}),
        ({"external_id": "ev-4"}, {4}),
        ({"q": "100%"}, {7}),  # wildcards in the text are literal
        ({"q": "O-12"}, {12}),
        (
            {"since": (T0 + timedelta(minutes=10)).isoformat(), "until": "2026-05-01T12:12:00"},
            {10, 11},
        ),
        ({"source": "nobody"}, set()),
    ],
)
def test_filters(
    api_client: TestClient,
    db: sessionmaker[Session],
    reader: dict[str, str],
    params: dict[str, str],
    expected: set[int],
) -> None:
    _seed(db)
    page = api_client.get("/api/v1/events", params={**params, "limit": 200}, headers=reader)
    assert page.status_code == 200, page.text
    assert {int(i["external_id"][3:]) for i in page.json()["items"]} == expected


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 201}, {"status": "weird"}, {"cursor": "abc"}, {"since": "yesterday"}],
)
def test_bad_filters_are_422_problems(
    api_client: TestClient, reader: dict[str, str], params: dict[str, str]
) -> None:
    answer = api_client.get("/api/v1/events", params=params, headers=reader)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_show_has_payload_headers_and_attempts(
    api_client: TestClient, db: sessionmaker[Session], reader: dict[str, str]
) -> None:
    _seed(db)
    event = api_client.get("/api/v1/events/1", headers=reader).json()
    assert event["payload"]["order"] == "o-0" and event["headers"]["content-type"]
    assert [a["outcome"] for a in event["attempt_history"]] == ["dead"]
    assert api_client.get("/api/v1/events/999", headers=reader).status_code == 404


def test_viewer_may_read_but_not_replay_or_retry(
    api_client: TestClient, db: sessionmaker[Session], reader: dict[str, str]
) -> None:
    _seed(db)
    assert api_client.post("/api/v1/events/1/replay", headers=reader).status_code == 403
    body = {"status": "dead", "dry_run": True}
    assert api_client.post("/api/v1/events/retry", json=body, headers=reader).status_code == 403
    assert api_client.get("/api/v1/events").status_code == 401


def test_an_api_key_needs_the_scope(api_client: TestClient, api_key: Callable[..., str]) -> None:
    other = {"X-API-Key": api_key(["orders:read"])}
    assert api_client.get("/api/v1/events", headers=other).status_code == 403
    own = {"X-API-Key": api_key(["events:read"])}
    assert api_client.get("/api/v1/events", headers=own).status_code == 200


@pytest.fixture
def with_broker(services: TestServices, api_env: pytest.MonkeyPatch) -> None:
    api_env.setenv("BROKER_URL", services.redis_url)


def test_replay_and_retry_reset_and_queue(
    with_broker: None, api_client: TestClient, db: sessionmaker[Session], operator: dict[str, str]
) -> None:
    _seed(db)
    replayed = api_client.post("/api/v1/events/1/replay", headers=operator)
    assert replayed.status_code == 202 and replayed.json()["status"] == "received"
    assert api_client.post("/api/v1/events/999/replay", headers=operator).status_code == 404
    dry = api_client.post(
        "/api/v1/events/retry", json={"status": "dead", "dry_run": True}, headers=operator
    ).json()
    assert dry == {"matched": 5, "queued": 0, "dry_run": True}  # event 1 is received now
    done = api_client.post(
        "/api/v1/events/retry", json={"status": "dead", "source": "stripe"}, headers=operator
    ).json()
    assert done == {"matched": 4, "queued": 4, "dry_run": False}  # 5, 10, 20, 25
    with db() as session:
        statuses = {e.external_id: e.status for e in session.query(Event)}
    assert statuses["ev-5"] == "received" and statuses["ev-15"] == "dead"
    bad = api_client.post("/api/v1/events/retry", json={"status": "processed"}, headers=operator)
    assert bad.status_code == 422
