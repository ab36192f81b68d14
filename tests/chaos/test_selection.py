"""Which chaos scenarios a run selects: the short subset by default, all with CHAOS=all
or when the marker expression names chaos_long."""

from __future__ import annotations

import os

import pytest

from tests.support.processes import run_module


def collected(*args: str, chaos: str = "") -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["CHAOS"] = chaos
    out = run_module("pytest", ["tests/chaos", "--collect-only", "-q", *args], env)
    return {line for line in out.splitlines() if "::" in line}


@pytest.fixture(scope="module")
def every() -> set[str]:
    return collected("-m", "chaos", chaos="all")


def test_long_scenarios_only_when_asked(every: set[str]) -> None:
    short = collected("-m", "chaos")
    assert short and short < every
    assert collected("-m", "chaos_long") == every - short
    assert not any("database_outage" in test or "redis_broker_crash" in test for test in short)
