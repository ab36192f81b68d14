"""Shared pieces of the benchmark scripts: services, a signed payload, a server process."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import httpx
import psycopg
from sqlalchemy import make_url

from pipeline.embedded import EmbeddedPostgres, EmbeddedRedis
from pipeline.migrate import upgrade
from schema.session import libpq_url

ROOT = Path(__file__).resolve().parents[2]
BENCH_VAR = Path(os.environ.get("BENCH_DATA_DIR", "/tmp/pipeline-bench"))
SECRET = "whsec_bench_secret"


def stripe_payload(
    event_id: str = "evt_bench",
    size: int = 1536,
    event_type: str = "payment_intent.succeeded",
    order_id: str = "1001",
) -> bytes:
    """A realistic Stripe event padded to `size` bytes (metadata carries the padding)."""
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "type": event_type,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_bench", "idempotency_key": None},
        "data": {
            "object": {
                "id": f"pi_{event_id}",
                "object": "payment_intent",
                "amount": 129900,
                "amount_received": 129900,
                "currency": "rub",
                "status": "succeeded",
                "customer": "cus_bench",
                "description": "Order 1001",
                "metadata": {"order_id": order_id, "telegram_user_id": "123456789", "pad": ""},
            }
        },
    }
    raw = json.dumps(event).encode()
    event["data"]["object"]["metadata"]["pad"] = "x" * max(0, size - len(raw))  # type: ignore[index]
    return json.dumps(event).encode()


def stripe_headers(body: bytes) -> dict[str, str]:
    t = int(time.time())
    sig = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "Stripe-Signature": f"t={t},v1={sig}"}


class Stoppable(Protocol):
    """A server this run started (embedded Redis or PostgreSQL), stopped at its end."""

    def stop(self) -> None: ...


def broker_url() -> tuple[str, list[Stoppable]]:
    given = os.environ.get("BROKER_URL")
    if given:
        return given, []
    redis = EmbeddedRedis(BENCH_VAR)
    started = redis.start()
    return started.url, [redis] if started.started_here else []


def database_url() -> tuple[str, list[Stoppable]]:
    given = os.environ.get("DATABASE_URL")
    if given:
        return given, []
    pg = EmbeddedPostgres(BENCH_VAR)
    started = pg.start()
    return started.url, [pg] if started.started_here else []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    env: dict[str, str],
    port: int,
    factory: str = "scripts.bench.app:create",
    workers: int = 1,
    extra: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--ws-per-message-deflate",
            "false",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            *extra,
        ],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    deadline = time.monotonic() + 120  # the API's imports alone take 20 s on a busy host
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the benchmark server did not start")


def create_bench_database(server: str, what: str) -> str:
    """A fresh, migrated database named `bench_<what>_<hex>` on the server of `server`."""
    name = f"bench_{what}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq_url(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(False)
    upgrade(url)
    return url


def drop_bench_database(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(libpq_url(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def bench_database(what: str, server: str) -> Iterator[str]:
    """A fresh, migrated database of its own; dropped on the way out."""
    url = create_bench_database(server, what)
    try:
        yield url
    finally:
        drop_bench_database(url)


def exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the databases and processes are cleaned up."""
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
