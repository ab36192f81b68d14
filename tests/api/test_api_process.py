"""`pipeline api` as a real process: uvicorn, two worker processes, real SMTP, login."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from pipeline.auth import staff
from tests.support.processes import free_port, pipeline_env, spawn, stop, wait_until
from tests.support.services import TestServices
from tests.support.smtp import smtp_server

pytestmark = pytest.mark.process


def test_login_by_mailed_code_against_the_running_process(
    tmp_path: Path, db: sessionmaker[Session], database_url: str, services: TestServices
) -> None:
    with db.begin() as session:
        staff.add_staff(session, "ops@example.com", "operator")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with smtp_server() as (smtp_url, inbox):
        env = pipeline_env(
            DATABASE_URL=database_url,
            REDIS_URL=services.redis_client_url,
            BROKER_URL=services.redis_client_url,
            QUEUE_PREFIX=f"t{uuid.uuid4().hex[:8]}-",
            API_JWT_SECRET=secrets.token_urlsafe(48),
            SMTP_URL=smtp_url,
            DATA_DIR=str(tmp_path),
        )
        log = tmp_path / "api.log"
        process = spawn(["api", "--port", str(port), "--workers", "2"], env, log)

        def healthy() -> bool:
            if process.poll() is not None:
                raise AssertionError(log.read_text()[-3000:])
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_until(healthy, 60, "the API to start")
            asked = httpx.post(f"{base}/api/v1/auth/code", json={"email": "ops@example.com"})
            assert asked.status_code == 202 and asked.headers["x-request-id"]
            wait_until(lambda: bool(inbox.to("ops@example.com")), 20, "the code by mail")
            tokens = httpx.post(
                f"{base}/api/v1/auth/code/verify",
                json={"email": "ops@example.com", "code": inbox.last_code("ops@example.com")},
            ).json()
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            # Any of the two processes checks the token the other signed.
            for _ in range(6):
                me = httpx.get(f"{base}/api/v1/auth/me", headers=headers)
                assert me.status_code == 200 and me.json()["role"] == "operator"
            metrics = httpx.get(f"{base}/metrics").text
            assert (
                'pipeline_api_requests_total{route="/api/v1/auth/me",status="200"} 6.0' in metrics
            )
        finally:
            stop(process)
        assert process.returncode == 0, log.read_text()[-3000:]
