"""A whole pipeline for the end-to-end benchmarks: its own database, a receiver, a worker.

`bench_latency`, `bench_soak` and `bench_growth` each create a dedicated database
(`bench_<what>_<hex>`) on the PostgreSQL at DATABASE_URL (or an embedded one), migrate
it, run the receiver and a worker against it with a queue prefix of their own, and drop
the database and their queues afterwards. Webhooks are signed Stripe payments that each
settle an order seeded beforehand, so every event walks the whole domain path.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

from pipeline.messaging.urls import redis_py_url
from scripts.bench.common import (
    ROOT,
    SECRET,
    bench_database,
    broker_url,
    database_url,
    free_port,
    stripe_headers,
    stripe_payload,
)
from scripts.bench.pipeline import forget_queues, seed_orders


@dataclass
class Stack:
    url: str
    broker: str
    env: dict[str, str]
    port: int
    tree: Path = ROOT  # the checkout whose receiver and worker run
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", role, *args],
            env=self.env,
            cwd=self.tree,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes[role] = process
        return process

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for role, process in self.processes.items():
                if process.poll() is not None:
                    raise SystemExit(f"the {role} exited early ({process.returncode})")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("the receiver did not start")
        if "worker" in self.processes:
            self._wait_worker(deadline)

    def _wait_worker(self, deadline: float) -> None:
        """Until the worker consumes (its first heartbeat, sent once Celery is ready): a
        loaded machine takes tens of seconds to start one, which is not latency."""
        client = redis.Redis.from_url(redis_py_url(self.env["REDIS_URL"]))
        pattern = f"{self.env['QUEUE_PREFIX']}pipeline:heartbeat:*"
        try:
            while time.monotonic() < deadline:
                if next(iter(client.scan_iter(match=pattern, count=1000)), None) is not None:
                    return
                time.sleep(0.2)
        finally:
            client.close()
        raise SystemExit("the worker did not start")

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def pipeline_stack(
    what: str, orders: int, concurrency: int = 2, tree: Path = ROOT, beat: bool = False
) -> Iterator[Stack]:
    """Database, receiver and `concurrency` worker processes, torn down afterwards.
    `beat`: also the periodic schedule, its maintenance tasks run by the same worker (as
    `pipeline up` runs them: sweeps, alerts, table upkeep)."""
    broker, redis_started = broker_url()
    server, pg_started = database_url()
    prefix = f"bench{uuid.uuid4().hex[:6]}-"
    try:
        with bench_database(what, server) as url, tempfile.TemporaryDirectory() as data:
            seed_orders(url, orders)
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "BROKER_URL": broker,
                "REDIS_URL": os.environ.get("REDIS_URL", broker),
                "QUEUE_PREFIX": prefix,
                "STRIPE_WEBHOOK_SECRET": SECRET,
                "ALLOW_TEST_PAYMENTS": "true",
                "FISCAL_REGISTER": "atol",
                "LOG_LEVEL": "WARNING",
                "DATA_DIR": data,
                "PYTHONPATH": str(tree),
            }
            stack = Stack(url, broker, env, free_port(), tree)
            try:
                stack.start("receiver", "--port", str(stack.port))
                stack.start(
                    "worker",
                    "--queues",
                    "ingest,maintenance" if beat else "ingest",
                    f"--concurrency={concurrency}",
                    "--metrics-port",
                    "0",
                )
                if beat:
                    stack.start("beat")
                stack.wait_ready()
                yield stack
            finally:
                stack.stop()
                forget_queues(broker, prefix)
    finally:
        for started in (*redis_started, *pg_started):
            started.stop()


def payment_body(n: int) -> bytes:
    """The n-th unique payment, settling the seeded order `bench-<n>`."""
    return stripe_payload(f"evt_bench_{n}", order_id=f"bench-{n}")


async def post_at_rate(
    base: str,
    rate: float,
    seconds: float,
    first: int = 0,
    sent: dict[str, float] | None = None,
    connections: int = 32,
) -> tuple[int, int]:
    """Open-loop load over `connections` keep-alive HTTP/1.1 connections: payment n is
    due at n/rate s; a free connection sends the next due one. Its due time (wall
    clock) goes into `sent`, so a backlog counts in the latency instead of hiding.
    Returns (ok, failed) requests."""
    match = re.match(r"http://([^:/]+):(\d+)", base)
    assert match, base
    host, port = match.group(1), int(match.group(2))
    count = int(rate * seconds)
    started_wall, started = time.time(), time.perf_counter()
    next_n = 0
    ok = failed = 0

    async def connection() -> None:
        nonlocal next_n, ok, failed
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while next_n < count:
                n = next_n
                next_n += 1
                delay = started + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if sent is not None:
                    sent[f"evt_bench_{first + n}"] = started_wall + n / rate
                body = payment_body(first + n)
                head = [
                    "POST /webhooks/stripe HTTP/1.1",
                    f"Host: {host}",
                    f"Content-Length: {len(body)}",
                ]
                head += [f"{k}: {v}" for k, v in stripe_headers(body).items()]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
                answer = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length:\s*(\d+)", answer)
                await reader.readexactly(int(length.group(1)) if length else 0)
                status = int(answer.split(b" ", 2)[1])
                ok += status < 300
                failed += status >= 300
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return ok, failed


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MiB."""
    total = 0
    for one in [pid, *_descendants(pid)]:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def _descendants(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    found = [int(c) for c in children]
    for child in list(found):
        found += _descendants(child)
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]
