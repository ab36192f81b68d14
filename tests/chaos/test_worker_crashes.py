"""Workers die, are restarted or lose their broker connection under a signed load; every
webhook answered 2xx still ends final, processed once.

Bounds (docs/architecture.md, "Delivery guarantee per broker"): every accepted event is
final within 2 minutes on Redis (a dead worker's messages wait for the visibility
timeout, 60 s), within 30 s on RabbitMQ (a closed connection returns them at once).
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.chaos.conftest import AMQP, BOUND_S, REDIS, Recovery
from tests.support.chaos import (
    LoadResult,
    SignedLoad,
    assert_consistent,
    kill_group,
    measure,
    wait_consistent,
)
from tests.support.chaos_stack import Stack, descendants
from tests.support.processes import wait_until
from tests.support.signing import stripe_event, stripe_headers
from tests.support.slow_handler import SLOW_TYPE
from tests.support.tcp_proxy import proxied_url

pytestmark = [pytest.mark.process, pytest.mark.chaos]

# Sized so that a small shared machine drains the load well within the bounds when
# nothing breaks: the bounds are about recovery, not about a backlog's drain time (one
# worker on the loaded 2-core VM drained RabbitMQ at as little as 50 events/s).
LOAD = {REDIS: (2000, 250.0), AMQP: (800, 100.0)}
# Rolling restarts: a slower, longer load, so that all three happen while it runs
# (starting a worker took 10-40 s on that machine, draining as little as 25 events/s).
ROLLING_LOAD = (1500, 30.0)
POOL_KILLS = 3
RESTARTS = 3

LONG = pytest.mark.chaos_long
BOTH = [REDIS, pytest.param(AMQP, marks=LONG)]
BOTH_LONG = [pytest.param(k, marks=LONG) for k in (REDIS, AMQP)]


def wait_sent(load: SignedLoad, count: float) -> None:
    wait_until(lambda: load.sent >= count, 120, f"{count:.0f} webhooks sent", 0.05)


def post_slow(base: str, event_id: str) -> None:
    body = stripe_event(event_id, SLOW_TYPE)
    answer = httpx.post(
        f"{base}/webhooks/stripe", content=body, headers=stripe_headers(body), timeout=10
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("chaos_env", BOTH, indirect=True)
def test_pool_processes_sigkilled_mid_batch(
    chaos_env: dict[str, str], engine: Engine, tmp_path: Path, recovery: Recovery
) -> None:
    """Pool processes die mid-batch, three times (the OOM killer, say): each time the
    worker rejects the message back to the queue at once (task_reject_on_worker_lost),
    no visibility timeout involved. A slow event sent into the load marks a pool process
    that is surely in the middle of its batch."""
    kind = chaos_env["CHAOS_BROKER"]
    slow_dir = tmp_path / "slow"
    slow_dir.mkdir()
    chaos_env.update(HANDLER_MODULES="tests.support.slow_handler", SLOW_HANDLER_DIR=str(slow_dir))
    total, rate = 900, 100.0  # recovery is immediate: a smaller load keeps it short
    slow_ids = [f"evt_slow_{uuid.uuid4().hex[:8]}" for _ in range(POOL_KILLS)]
    killed: list[int] = []
    with Stack(chaos_env, tmp_path) as stack:
        stack.start()
        worker = stack.workers[0]
        load = SignedLoad(stack.base, total, rate).start()
        for n, slow_id in enumerate(slow_ids):
            wait_sent(load, total * (n + 1) / (POOL_KILLS + 2))
            post_slow(stack.base, slow_id)
            started = slow_dir / f"started-{slow_id}"
            wait_until(started.exists, 120, "the slow handler to start (behind the backlog)")
            pid = int(started.read_text())
            assert pid in descendants(worker)[1:], "not a pool process of the worker"
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            killed_at = time.monotonic()
        result = load.wait()
        result.accepted.extend(slow_ids)
        figures = wait_consistent(engine, result, killed_at, BOUND_S[AMQP] + 5)
    recovery.add("pool process SIGKILL mid-batch ×3", kind, figures, BOUND_S[AMQP])
    assert_consistent(figures, kind, BOUND_S[AMQP])
    for slow_id, pid in zip(slow_ids, killed, strict=True):
        done = (slow_dir / f"done-{slow_id}").read_text().split()
        assert len(done) == 1 and int(done[0]) != pid, (slow_id, done)


@pytest.mark.parametrize("chaos_env", BOTH_LONG, indirect=True)
def test_worker_sigkilled_and_replaced_5_s_later(
    chaos_env: dict[str, str], engine: Engine, tmp_path: Path, recovery: Recovery
) -> None:
    """The whole worker (main process and pool) is SIGKILLed; an orchestrator starts a
    new one 5 s later. Redis gives its messages back after the visibility timeout,
    RabbitMQ as soon as the connection closes."""
    kind = chaos_env["CHAOS_BROKER"]
    total, rate = LOAD[kind]
    with Stack(chaos_env, tmp_path) as stack:
        stack.start(beat=True)
        doomed = stack.workers[0]
        load = SignedLoad(stack.base, total, rate).start()
        wait_sent(load, total / 3)
        kill_group(doomed)
        killed_at = time.monotonic()
        time.sleep(5.0)
        stack.start_worker(concurrency=2)
        # The bound counts from the replacement consuming: how long an orchestrator and
        # a loaded machine take to start it is not the pipeline's (up to 30 s here).
        ready_at = time.monotonic()
        result = load.wait()
        figures = wait_consistent(engine, result, ready_at, BOUND_S[kind] + 5)
    from_kill_s = round(figures.seconds + ready_at - killed_at, 1)
    recovery.add(
        "worker SIGKILL, new one 5 s later",
        kind,
        figures,
        BOUND_S[kind],
        measured_from="the replacement ready",
        seconds_from_kill=from_kill_s,
    )
    assert_consistent(figures, kind, BOUND_S[kind])


@pytest.mark.parametrize("chaos_env", BOTH_LONG, indirect=True)
def test_rolling_restart_under_load(
    chaos_env: dict[str, str], engine: Engine, tmp_path: Path, recovery: Recovery
) -> None:
    """Three rolling restarts as a Kubernetes Deployment of one replica does them (max
    surge 1, max unavailable 0): a new worker is started, then the old one gets SIGTERM
    (warm shutdown: running tasks finish, prefetched messages go back)."""
    kind = chaos_env["CHAOS_BROKER"]
    total, rate = ROLLING_LOAD
    with Stack(chaos_env, tmp_path) as stack:
        stack.start(beat=True)
        current = stack.workers[0]
        load = SignedLoad(stack.base, total, rate).start()
        for n in range(RESTARTS):
            wait_sent(load, total * (n + 1) / 10)
            replacement = stack.start_worker(concurrency=2)
            # To the worker command alone, as an orchestrator sends it; forwarded to Celery.
            current.send_signal(signal.SIGTERM)
            code = stack.wait_exit(current)
            assert code == 0, f"warm shutdown exited {code}"
            current = replacement
            restarted_at = time.monotonic()
        result = load.wait()
        figures = wait_consistent(engine, result, restarted_at, BOUND_S[kind] + 5)
    recovery.add(
        "rolling restart (SIGTERM) ×3",
        kind,
        figures,
        BOUND_S[kind],
        measured_from="the last restart done",
    )
    assert_consistent(figures, kind, BOUND_S[kind])


@pytest.mark.chaos_long
@pytest.mark.parametrize("chaos_env", [AMQP], indirect=True)
def test_amqp_connection_loss_under_load(
    chaos_env: dict[str, str], engine: Engine, tmp_path: Path, recovery: Recovery
) -> None:
    """The worker's connections to RabbitMQ are cut (a proxy the test owns drops them)
    twice under load: RabbitMQ returns every unacknowledged message at once, the worker
    reconnects, and what it had finished but could not acknowledge is absorbed as a
    duplicate, not processed again."""
    proxy, through = proxied_url(chaos_env["BROKER_URL"])
    total, rate = LOAD[AMQP]
    try:
        with Stack({**chaos_env, "BROKER_URL": through}, tmp_path) as stack:
            stack.start(receiver_env=chaos_env)
            load = SignedLoad(stack.base, total, rate).start()
            for n in range(2):
                wait_sent(load, total * (n + 1) / 4)
                proxy.drop_connections()
                cut_at = time.monotonic()
            result = load.wait()
            figures = wait_consistent(engine, result, cut_at, BOUND_S[AMQP] + 5)
    finally:
        proxy.close()
    recovery.add("worker connection to the broker cut ×2", AMQP, figures, BOUND_S[AMQP])
    assert_consistent(figures, AMQP, BOUND_S[AMQP])


@pytest.mark.chaos_long
def test_task_longer_than_the_visibility_timeout_runs_once_on_redis(
    chaos_env: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    """The other side of a short timeout: a live worker's long task is not taken back
    (lease renewal), though a second worker stands ready to take it."""
    slow_dir = tmp_path / "slow"
    slow_dir.mkdir()
    visibility_s = 20
    chaos_env.update(
        HANDLER_MODULES="tests.support.slow_handler",
        SLOW_HANDLER_DIR=str(slow_dir),
        SLOW_HANDLER_SECONDS=str(visibility_s * 2),
        BROKER_VISIBILITY_TIMEOUT_S=str(visibility_s),
    )
    slow_id = f"evt_slow_{uuid.uuid4().hex[:8]}"
    with Stack(chaos_env, tmp_path) as stack:
        stack.start_receiver()
        stack.start_worker(concurrency=1)
        stack.start_worker(concurrency=1)
        post_slow(stack.base, slow_id)
        done = slow_dir / f"done-{slow_id}"
        wait_until(done.exists, visibility_s * 2 + 60, "the slow handler to finish")
        time.sleep(visibility_s / 2)  # a stolen copy would be running by now
    assert len(done.read_text().split()) == 1
    figures = measure(engine, LoadResult(1, [slow_id]), time.monotonic())
    assert (figures.final, figures.doubled, figures.redelivered) == (1, 0, 0), figures
