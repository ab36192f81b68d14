"""`pipeline up` with nothing configured: embedded PostgreSQL and Redis, one command."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.processes import ROOT, free_port, pipeline_env, wait_until
from tests.support.signing import STRIPE_SECRET, stripe_event, stripe_headers

pytestmark = pytest.mark.process


def up_env() -> dict[str, str]:
    env = pipeline_env(STRIPE_WEBHOOK_SECRET=STRIPE_SECRET, LOG_LEVEL="INFO")
    for name in ("DATABASE_URL", "BROKER_URL", "REDIS_URL", "QUEUE_PREFIX", "DATA_DIR"):
        env.pop(name, None)
    return env


def start_up(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
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
            "--concurrency",
            "1",
        ],
        env=up_env(),
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def events(data_dir: Path) -> list[dict[str, object]]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.cli",
            "events",
            "list",
            "--json",
            "--data-dir",
            str(data_dir),
        ],
        env=up_env(),
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    )
    parsed: list[dict[str, object]] = json.loads(out.stdout)
    return parsed


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
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(log.read_text()[-3000:])
        try:
            return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    process = start_up(data_dir, port, log)
    try:
        wait_until(ready, 90, "pipeline up to be ready", interval=0.25)
        output = log.read_text()
        assert "embedded postgresql" in output and "embedded redis" in output

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
        process = start_up(data_dir, port, log)
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
