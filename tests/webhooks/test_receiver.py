"""The receiver against a real broker: what is accepted is enqueued, nothing else is."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from pipeline.messaging.queues import INGEST
from pipeline.settings import get_settings
from pipeline.version import __version__
from tests.support.broker import purge, queued
from tests.support.signing import (
    stripe_event,
    stripe_headers,
    telegram_headers,
    telegram_update,
)
from webhooks.main import create_app


@pytest.fixture
def client(
    broker_url: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("MAX_BODY_BYTES", "4096")
    get_settings.cache_clear()
    purge(broker_url, INGEST)
    with TestClient(create_app(get_settings())) as test_client:
        yield test_client


def test_signed_stripe_event_is_enqueued(client: TestClient, broker_url: str) -> None:
    body = stripe_event("evt_enqueued")
    response = client.post("/webhooks/stripe", content=body, headers=stripe_headers(body))
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True}
    assert queued(broker_url, INGEST) == 1


def test_telegram_update_is_enqueued_with_either_rotated_secret(
    client: TestClient, broker_url: str
) -> None:
    for update_id, secret in ((1, "tg-secret-1"), (2, "tg-secret-2")):
        response = client.post(
            "/webhooks/telegram",
            content=telegram_update(update_id),
            headers=telegram_headers(secret),
        )
        assert response.status_code == 200, response.text
    assert queued(broker_url, INGEST) == 2


def _stripe_cases() -> list[tuple[str, bytes, dict[str, str], int, str]]:
    body = stripe_event("evt_bad")
    good = stripe_headers(body)
    stale = stripe_headers(body, timestamp=int(time.time()) - 301)
    malformed = b'{"id": "evt_x", "type": '
    not_object = b"[1, 2, 3]"
    return [
        ("wrong secret", body, stripe_headers(body, secret="whsec_other"), 401, "signature"),
        ("tampered body", body.replace(b"2000", b"9000"), good, 401, "signature"),
        ("stale timestamp", body, stale, 401, "signature"),
        ("missing header", body, {"Content-Type": "application/json"}, 401, "signature"),
        ("garbled header", body, {"Stripe-Signature": "nonsense"}, 401, "signature"),
        ("malformed json", malformed, stripe_headers(malformed), 400, "malformed"),
        ("not an object", not_object, stripe_headers(not_object), 400, "malformed"),
        ("empty body", b"", stripe_headers(b""), 400, "malformed"),
        ("no id", b'{"type": "x"}', stripe_headers(b'{"type": "x"}'), 400, "malformed"),
        (
            "wrong content type",
            body,
            {**good, "Content-Type": "text/plain"},
            415,
            "media",
        ),
    ]


@pytest.mark.parametrize("case", [case[0] for case in _stripe_cases()])
def test_bad_stripe_requests_are_rejected_and_not_enqueued(
    client: TestClient, broker_url: str, case: str
) -> None:
    # Signed when the test runs, not at collection: a long suite would age the timestamps.
    _, body, headers, status, error = next(c for c in _stripe_cases() if c[0] == case)
    response = client.post("/webhooks/stripe", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert response.json()["detail"]
    assert queued(broker_url, INGEST) == 0


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, telegram_update(5), 401),
        (telegram_headers("wrong"), telegram_update(5), 401),
        (telegram_headers(), b"{not json", 400),
        (telegram_headers(), json.dumps({"update_id": "five"}).encode(), 400),
        (telegram_headers(), json.dumps({"update_id": -1}).encode(), 400),
    ],
    ids=["missing secret", "wrong secret", "malformed", "string id", "negative id"],
)
def test_bad_telegram_requests_are_rejected(
    client: TestClient, broker_url: str, headers: dict[str, str], body: bytes, status: int
) -> None:
    response = client.post("/webhooks/telegram", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert queued(broker_url, INGEST) == 0


def test_oversized_body_is_413_declared_or_streamed(client: TestClient, broker_url: str) -> None:
    big = stripe_event("evt_big", padding="x" * 5000)
    response = client.post("/webhooks/stripe", content=big, headers=stripe_headers(big))
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while streaming
        for _ in range(10):
            yield b"x" * 1000

    response = client.post("/webhooks/telegram", content=chunks(), headers=telegram_headers())
    assert response.status_code == 413
    assert queued(broker_url, INGEST) == 0


def test_unknown_provider_is_404_and_health_answers(client: TestClient) -> None:
    assert client.post("/webhooks/nobody", content=b"{}").status_code == 404
    assert client.get("/healthz").json() == {"status": "ok", "version": __version__}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"broker": "ok"}


def test_unconfigured_provider_is_indistinguishable_from_an_unknown_route(
    broker_url: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET")
    get_settings.cache_clear()
    # The receiver reads its providers' settings when it starts.
    with TestClient(create_app(get_settings())) as client:
        _unconfigured_is_unknown(client)


def _unconfigured_is_unknown(client: TestClient) -> None:
    for method in ("POST", "GET", "PUT", "DELETE", "OPTIONS", "PROPFIND"):
        for suffix in ("", "/kind"):
            unconfigured = client.request(
                method, f"/webhooks/telegram{suffix}", content=telegram_update(9),
                headers=telegram_headers(),
            )  # fmt: skip
            unknown = client.request(
                method, f"/webhooks/nobody{suffix}", content=telegram_update(9),
                headers=telegram_headers(),
            )  # fmt: skip
            assert unconfigured.status_code == unknown.status_code == 404, method
            assert unconfigured.content == unknown.content, method
            assert unconfigured.headers == unknown.headers, method


def test_a_configured_provider_answers_405_to_another_method(client: TestClient) -> None:
    response = client.get("/webhooks/telegram")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_readiness_does_not_answer_with_exception_text(
    broker_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A database that refuses: its error names host, port and user; the answer must not.
    url = "postgresql://secretive_user:pw@127.0.0.1:9/nodb"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as client:
        ready = client.get("/readyz")  # the broker is what the receiver needs
        response = client.get("/healthz/system")
    assert ready.status_code == 200
    assert response.status_code == 503
    assert "secretive_user" not in response.text and "127.0.0.1" not in response.text
