"""The app's shared layer: request ids, problem documents, docs, authentication."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient

from tests.api.conftest import bearer


def test_health_and_request_id_is_kept_or_made(api_client: TestClient) -> None:
    kept = api_client.get("/healthz", headers={"X-Request-ID": "abc-123.x_y"})
    assert kept.status_code == 200
    assert kept.headers["x-request-id"] == "abc-123.x_y"
    made = api_client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 32


def test_unknown_route_is_a_problem_document(api_client: TestClient) -> None:
    response = api_client.get("/api/v1/nothing-here", headers={"X-Request-ID": "r1"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404 and body["title"] == "Not Found"
    assert body["instance"] == "/api/v1/nothing-here" and body["request_id"] == "r1"
    assert body["type"].endswith("/not-found")


def test_missing_and_wrong_credentials_are_401(api_client: TestClient) -> None:
    missing = api_client.get("/api/v1/auth/me")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.headers["content-type"] == "application/problem+json"
    for headers in (
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Bearer pk_0000000000_nope"},
        {"X-API-Key": "pk_0000000000_nope"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ):
        assert api_client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_staff_token_and_api_key_identify_the_caller(
    api_client: TestClient, staff_token: Callable[..., str], api_key: Callable[..., str]
) -> None:
    me = api_client.get("/api/v1/auth/me", headers=bearer(staff_token("operator"))).json()
    assert me["kind"] == "staff" and me["role"] == "operator"
    assert "events:write" in me["scopes"] and "staff:admin" not in me["scopes"]
    key = api_key(["events:read"])
    for headers in ({"X-API-Key": key}, bearer(key)):
        me = api_client.get("/api/v1/auth/me", headers=headers).json()
        assert me["kind"] == "apikey" and me["scopes"] == ["events:read"]


def test_every_presented_credential_must_be_valid_and_agree(
    api_client: TestClient, staff_token: Callable[..., str], api_key: Callable[..., str]
) -> None:
    token, key = staff_token("admin"), api_key(["events:read"])
    both_bad = {**bearer(token), "X-API-Key": "pk_0000000000_wrong"}
    assert api_client.get("/api/v1/auth/me", headers=both_bad).status_code == 401
    two_callers = {**bearer(token), "X-API-Key": key}
    assert api_client.get("/api/v1/auth/me", headers=two_callers).status_code == 401
    same_key_twice = {**bearer(key), "X-API-Key": key}
    assert api_client.get("/api/v1/auth/me", headers=same_key_twice).status_code == 200


def test_metrics_count_answers_by_route_template(
    api_client: TestClient, staff_token: Callable[..., str]
) -> None:
    token = staff_token("admin")
    for path in ("/api/v1/staff/1", "/api/v1/staff/2", "/api/v1/no/such/path"):
        api_client.get(path, headers=bearer(token))
    text = api_client.get("/metrics").text
    assert 'pipeline_api_requests_total{route="/api/v1/staff/{staff_id}",status="200"}' in text
    assert 'route="/api/v1/staff/1"' not in text  # ids do not make new series
    assert 'pipeline_api_requests_total{route="unmatched",status="404"}' in text
    assert (
        'pipeline_api_request_duration_seconds_bucket{le="0.001",route="/api/v1/staff/{staff_id}"}'
        in text
    )


def test_websocket_handshakes_carry_the_request_id(api_client: TestClient) -> None:
    app: FastAPI = api_client.app  # type: ignore[assignment]

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.scope["state"]["request_id"])
        await websocket.close()

    app.add_api_websocket_route("/test/ws", echo)
    with api_client.websocket_connect("/test/ws", headers={"X-Request-ID": "ws-1"}) as socket:
        assert socket.receive_text() == "ws-1"
        assert (b"x-request-id", b"ws-1") in (socket.extra_headers or [])
