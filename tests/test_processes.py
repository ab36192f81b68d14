"""Whole-process tests: a real receiver and Celery worker, with Redis and with RabbitMQ."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from schema.session import sqlalchemy_url
from tests.support.processes import pipeline_env, receiver, wait_until, worker
from tests.support.services import TestServices
from tests.support.signing import (
    STRIPE_SECRET,
    TELEGRAM_SECRET,
    stripe_event,
    stripe_headers,
    telegram_headers,
    telegram_update,
)
from tests.support.slow_handler import SLOW_TYPE
from tests.support.tcp_proxy import BLACKHOLE, DOWN, FORWARD, TcpProxy, proxied_url

pytestmark = pytest.mark.process
ENQUEUE_BOUND_S = 2.0


@dataclass
class Stack:
    base: str
    proxy: TcpProxy
    engine: Engine
    worker_pid: int
    slow_dir: Path

    def status(self, source: str, external_id: str) -> tuple[str, int, int] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT status, attempts, duplicates FROM events "
                    "WHERE source = :s AND external_id = :e"
                ),
                {"s": source, "e": external_id},
            ).one_or_none()
        return None if row is None else (row[0], row[1], row[2])

    def wait_status(self, source: str, external_id: str, status: str, timeout: float = 30) -> None:
        wait_until(
            lambda: (self.status(source, external_id) or ("",))[0] == status,
            timeout,
            f"{source}/{external_id} to be {status}",
        )


@pytest.fixture(scope="module", params=["redis", "amqp"])
def stack(
    request: pytest.FixtureRequest,
    services: TestServices,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    broker = services.redis_url if request.param == "redis" else services.amqp_url
    if not broker:
        pytest.skip("no RabbitMQ reachable (set TEST_AMQP_URL to run the AMQP variant)")
    logs = tmp_path_factory.mktemp(f"logs-{request.param}")
    slow_dir = tmp_path_factory.mktemp(f"slow-{request.param}")
    common = {
        "DATABASE_URL": database_url,
        "QUEUE_PREFIX": f"p{uuid.uuid4().hex[:8]}-",
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
        "HANDLER_MODULES": "tests.support.slow_handler",
        "SLOW_HANDLER_DIR": str(slow_dir),
        "LOG_LEVEL": "INFO",
        "REDIS_URL": "redis://127.0.0.1:1/0",  # not used on these paths
        "ENQUEUE_TIMEOUT_S": str(ENQUEUE_BOUND_S),
    }
    proxy, through_proxy = proxied_url(broker)
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with (
            worker(pipeline_env(**common, BROKER_URL=broker), logs) as proc,
            receiver(pipeline_env(**common, BROKER_URL=through_proxy), logs) as base,
        ):
            yield Stack(base, proxy, engine, proc.pid, slow_dir)
    finally:
        proxy.close()
        engine.dispose()


def post_stripe(
    base: str, event_id: str, event_type: str = "payment_intent.succeeded"
) -> httpx.Response:
    body = stripe_event(event_id, event_type)
    return httpx.post(
        f"{base}/webhooks/stripe", content=body, headers=stripe_headers(body), timeout=10
    )


def test_signed_stripe_and_telegram_reach_processed(stack: Stack) -> None:
    event_id = f"evt_{uuid.uuid4().hex}"
    assert post_stripe(stack.base, event_id).status_code == 200
    update_id = int(time.time() * 1000) % 2_000_000_000
    response = httpx.post(
        f"{stack.base}/webhooks/telegram",
        content=telegram_update(update_id),
        headers=telegram_headers(),
        timeout=10,
    )
    assert response.status_code == 200
    stack.wait_status("stripe", event_id, "processed")
    stack.wait_status("telegram", str(update_id), "processed")
    assert stack.status("stripe", event_id) == ("processed", 1, 0)


def test_same_event_five_times_concurrently_is_one_row_processed_once(stack: Stack) -> None:
    event_id = f"evt_{uuid.uuid4().hex}"
    with ThreadPoolExecutor(5) as pool:
        codes = list(pool.map(lambda _: post_stripe(stack.base, event_id).status_code, range(5)))
    assert codes == [200] * 5
    stack.wait_status("stripe", event_id, "processed")
    wait_until(lambda: (stack.status("stripe", event_id) or ("", 0, 0))[2] == 4, 15, "duplicates")
    assert stack.status("stripe", event_id) == ("processed", 1, 4)


@pytest.mark.parametrize("failure", [DOWN, BLACKHOLE])
def test_broker_unavailable_answers_503_in_bound_and_loses_nothing(
    stack: Stack, failure: str
) -> None:
    event_id = f"evt_{uuid.uuid4().hex}"
    stack.proxy.set_mode(failure)
    try:
        started = time.monotonic()
        response = post_stripe(stack.base, event_id)
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.headers["retry-after"]
        assert elapsed < ENQUEUE_BOUND_S + 1.0, f"answered after {elapsed:.2f} s"
    finally:
        stack.proxy.set_mode(FORWARD)
    # The provider retries; once the broker is back the event is accepted and processed.
    wait_until(lambda: post_stripe(stack.base, event_id).status_code == 200, 20, "a 200 again")
    stack.wait_status("stripe", event_id, "processed")
    assert stack.status("stripe", event_id) is not None
    assert (stack.status("stripe", event_id) or ("", 0))[1] == 1


def test_worker_process_killed_mid_task_still_processes_once(stack: Stack) -> None:
    event_id = f"evt_{uuid.uuid4().hex}"
    assert post_stripe(stack.base, event_id, SLOW_TYPE).status_code == 200
    started = stack.slow_dir / f"started-{event_id}"
    wait_until(started.exists, 60, "the slow handler to start")
    first_pid = int(started.read_text())
    assert first_pid != stack.worker_pid  # a pool process, not the worker's main process
    os.kill(first_pid, signal.SIGKILL)
    stack.wait_status("stripe", event_id, "processed", timeout=120)
    done = (stack.slow_dir / f"done-{event_id}").read_text().split()
    assert len(done) == 1 and int(done[0]) != first_pid
    status, attempts, _ = stack.status("stripe", event_id) or ("", 0, 0)
    assert (status, attempts) == ("processed", 1)
