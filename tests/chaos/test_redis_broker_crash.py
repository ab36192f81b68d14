"""The Redis broker is SIGKILLed mid-load and restarted on the same port from its AOF.

What the AOF setting guarantees (redis.io, "Redis persistence"):

- `appendfsync everysec`: Redis appends every write to the AOF before answering and
  fsyncs the file once a second. A killed Redis process loses nothing that reached the
  file (the kernel holds it); a host crash loses up to about 1 s of acknowledged writes.
  One exception reaches a process kill too: while a background fsync is slow, Redis
  postpones writing its AOF buffer for up to 2 s and answers anyway, so a kill then
  loses up to 2 s of acknowledged writes. Losses are therefore allowed only among the
  webhooks accepted in the 2 s before the kill; they are counted and printed.
- `appendfsync always`: every write is on disk before Redis answers; nothing
  acknowledged may be lost, and the test asserts zero.

A message a worker had just fetched is not at risk: the fetch records it as
unacknowledged in the same step (pipeline/messaging/reliable_redis.py), and the AOF holds
that record. Those messages come back after the visibility timeout, set to its minimum
(20 s) here so the scenario stays short; the mechanism is the one of the default 60 s.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.chaos.conftest import BOUND_S, REDIS, Recovery
from tests.support.chaos import OwnedRedis, SignedLoad, assert_consistent, wait_consistent
from tests.support.chaos_stack import Stack, stack_env
from tests.support.processes import free_port, wait_until

pytestmark = [pytest.mark.process, pytest.mark.chaos]

TOTAL, RATE = 2000, 250.0
DOWN_S = 3.0
# Redis may postpone its AOF write up to 2 s while an fsync is slow (see above).
POSTPONED_WRITE_S = 2.0
VISIBILITY_S = 20


@pytest.mark.chaos_long
@pytest.mark.parametrize("appendfsync", ["everysec", "always"])
def test_redis_sigkill_and_restart_with_aof_under_load(
    appendfsync: str, database_url: str, engine: Engine, tmp_path: Path, recovery: Recovery
) -> None:
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    broker = OwnedRedis(redis_dir, free_port(), appendfsync=appendfsync)
    broker.start()
    env = stack_env(database_url, broker.url, broker.url, tmp_path)
    env["BROKER_VISIBILITY_TIMEOUT_S"] = str(VISIBILITY_S)
    try:
        with Stack(env, tmp_path) as stack:
            stack.start(beat=True)
            load = SignedLoad(stack.base, TOTAL, RATE).start()
            wait_until(lambda: load.sent >= TOTAL / 3, 60, "the load to run", 0.05)
            broker.kill()
            killed_at = time.monotonic()
            time.sleep(DOWN_S)
            broker.start()
            result = load.wait()
            figures = wait_consistent(engine, result, killed_at, BOUND_S[REDIS] + 5)
    finally:
        broker.kill()
    window = result.accepted_between(killed_at - POSTPONED_WRITE_S, killed_at)
    allowed = window if appendfsync == "everysec" else 0
    guarantee = (
        "a process kill loses at most the writes of a postponed AOF write (<= 2 s), "
        "a host crash <= ~1 s"
        if appendfsync == "everysec"
        else "nothing acknowledged is lost"
    )
    recovery.add(
        f"Redis SIGKILL + restart, appendfsync {appendfsync}",
        REDIS,
        figures,
        BOUND_S[REDIS],
        accepted_in_last_2_s=window,
        allowed_lost=allowed,
        guarantee=guarantee,
    )
    assert_consistent(figures, f"redis {appendfsync}", BOUND_S[REDIS], allowed_lost=allowed)
