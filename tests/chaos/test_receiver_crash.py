"""The receiver is SIGKILLed under load, twice, and restarted on the same port: every
webhook the sender saw answered 2xx is in the database, final, processed once. (The
receiver answers only after the broker confirmed the message; what it held unanswered
when it died is the sender's to retry.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.chaos.conftest import BOUND_S, REDIS, Recovery
from tests.support.chaos import SignedLoad, assert_consistent, wait_consistent
from tests.support.chaos_stack import Stack
from tests.support.processes import wait_until

pytestmark = [pytest.mark.process, pytest.mark.chaos, pytest.mark.chaos_long]

TOTAL, RATE = 2400, 200.0
KILLS = 2


def sent_at_least(load: SignedLoad, count: float) -> Callable[[], bool]:
    return lambda: load.sent >= count


def test_receiver_sigkilled_under_load_and_restarted(
    chaos_env: dict[str, str], engine: Engine, tmp_path: Path, recovery: Recovery
) -> None:
    with Stack(chaos_env, tmp_path) as stack:
        stack.start()
        load = SignedLoad(stack.base, TOTAL, RATE).start()
        down_s = []
        for n in range(KILLS):
            wait_until(sent_at_least(load, TOTAL * (n + 1) / 4), 60, "the load", 0.05)
            stack.kill_receiver()
            killed_at = time.monotonic()
            stack.start_receiver()
            down_s.append(round(time.monotonic() - killed_at, 1))
        result = load.wait()
        figures = wait_consistent(engine, result, killed_at, BOUND_S[REDIS] + 5)
    recovery.add(
        "receiver SIGKILL + restart ×2",
        REDIS,
        figures,
        BOUND_S[REDIS],
        refused=result.refused,
        receiver_down_s=down_s,
    )
    assert result.refused > 0, "the kills went unnoticed: no webhook was refused"
    assert len(result.accepted) > TOTAL / 4
    assert_consistent(figures, "receiver SIGKILL", BOUND_S[REDIS])
