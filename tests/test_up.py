"""`pipeline up` with nothing configured: embedded PostgreSQL and Redis, one command."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support.processes import ROOT, free_port, pipeline_env, wait_until
from tests.support.signing import STRIPE_SECRET, stripe_event, stripe_headers

pytestmark = pytest.mark.process


def up_env() -> dict[str, str]:
    env = pipeline_env(STRIPE_WEBHOOK_SECRET=STRIPE_SECRET, LOG_LEVEL="INFO")
    for name in ("DATABASE_URL", "BROKER_URL", "REDIS_URL", "QUEUE_PREFIX", "DATA_DIR"):
        env.pop(name, None)
    return env


def start_up(
    data_dir: Path, port: int, api_port: int, log: Path, grpc_port: int = 0
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipeline.cli",
            "up",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--api-port",
            str(api_port),
            "--grpc-port",
            str(grpc_port or free_port()),
            "--concurrency",
            "1",
        ],
        env=up_env(),
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def grpc_serving(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=2
            )
        except grpc.RpcError:
            return False
    return bool(answer.status == health_pb2.HealthCheckResponse.SERVING)


def cli(data_dir: Path, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args, "--data-dir", str(data_dir)],
        env=up_env(),
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return out.stdout.decode()


def events(data_dir: Path) -> list[dict[str, object]]:
    parsed: list[dict[str, object]] = json.loads(cli(data_dir, "events", "list", "--json"))
    return parsed


def log_in_with_printed_code(data_dir: Path, api: str, log: Path) -> None:
    """What a new user does: add an admin, ask for a code, read it from the console."""
    cli(data_dir, "staff", "add", "admin@example.com", "--role", "admin")
    asked = httpx.post(f"{api}/api/v1/auth/code", json={"email": "admin@example.com"})
    assert asked.status_code == 202, asked.text

    def printed_code() -> str | None:
        found = re.findall(r"DEVELOPMENT MAIL.*?Your login code: (\d{6})", log.read_text(), re.S)
        return found[-1] if found else None

    wait_until(lambda: printed_code() is not None, 20, "the code in the console")
    tokens = httpx.post(
        f"{api}/api/v1/auth/code/verify",
        json={"email": "admin@example.com", "code": printed_code()},
    )
    assert tokens.status_code == 200, tokens.text
    me = httpx.get(
        f"{api}/api/v1/auth/me",
        headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
    )
    assert me.json()["role"] == "admin"
    assert httpx.get(f"{api}/api/docs").status_code == 200


def leftover_processes(data_dir: Path) -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if str(data_dir) in line]


def stop_up(process: subprocess.Popen[bytes], log: Path) -> None:
    process.send_signal(signal.SIGINT)
    try:
        code = process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(log.read_text()[-3000:]) from None
    assert code == 0, log.read_text()[-3000:]


def test_up_starts_everything_embedded_processes_a_webhook_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    # A short path keeps the embedded servers' unix sockets under the length limit.
    data_dir = Path(f"/tmp/pipeline-up-{uuid.uuid4().hex[:8]}")
    log = tmp_path / "up.log"
    port, api_port, grpc_port = free_port(), free_port(), free_port()
    base, api = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{api_port}"

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(log.read_text()[-3000:])
        try:
            return all(
                httpx.get(url, timeout=2).status_code == 200
                for url in (f"{base}/readyz", f"{api}/healthz")
            )
        except httpx.HTTPError:
            return False

    process = start_up(data_dir, port, api_port, log, grpc_port)
    try:
        wait_until(ready, 90, "pipeline up to be ready", interval=0.25)
        output = log.read_text()
        assert "embedded postgresql" in output and "embedded redis" in output
        assert f"api: {api}/api/docs" in output
        assert f"console: {api}/admin" in output
        assert f"grpc: 127.0.0.1:{grpc_port}" in output
        wait_until(lambda: grpc_serving(grpc_port), 30, "the gRPC API to serve", interval=0.25)
        log_in_with_printed_code(data_dir, api, log)

        body = stripe_event(f"evt_{uuid.uuid4().hex}")
        response = httpx.post(f"{base}/webhooks/stripe", content=body, headers=stripe_headers(body))
        assert response.status_code == 200, response.text
        wait_until(
            lambda: [e["status"] for e in events(data_dir)] == ["processed"],
            60,
            "the event to be processed",
            interval=0.5,
        )
        stop_up(process, log)
        wait_until(lambda: not leftover_processes(data_dir), 20, "every child to exit")

        # A second run reuses the data.
        process = start_up(data_dir, port, api_port, log, grpc_port)
        wait_until(ready, 90, "the second pipeline up to be ready", interval=0.25)
        assert [e["status"] for e in events(data_dir)] == ["processed"]
        stop_up(process, log)
        wait_until(lambda: not leftover_processes(data_dir), 20, "every child to exit")
    finally:
        if process.poll() is None:
            process.kill()
        for line in leftover_processes(data_dir):
            print("leftover:", line)
        shutil.rmtree(data_dir, ignore_errors=True)
