"""The chaos suite: which scenarios run, the brokers they run on, and the recovery figures.

Every scenario is marked `chaos`; the expensive ones also `chaos_long`, which a plain run
leaves out (deselected, not skipped) unless CHAOS=all or the marker expression names
`chaos_long`. The figures of every scenario that ran are printed at the end of the run
and written to tests/artifacts/chaos/recovery.json (CHAOS_REPORT overrides the path).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.chaos import Figures, delete_queues
from tests.support.chaos_stack import stack_env
from tests.support.services import TestServices

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REPORT = ROOT / "tests" / "artifacts" / "chaos" / "recovery.json"
REPORT = Path(os.environ.get("CHAOS_REPORT") or DEFAULT_REPORT)
RECORDS = pytest.StashKey[list[dict[str, Any]]]()

REDIS, AMQP = "redis", "amqp"
# Every accepted event final within this long after the fault (docs/architecture.md).
BOUND_S = {REDIS: 120.0, AMQP: 30.0}


def long_scenarios_wanted(config: pytest.Config) -> bool:
    return os.environ.get("CHAOS", "") == "all" or "chaos_long" in (config.option.markexpr or "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if long_scenarios_wanted(config):
        return
    keep = [item for item in items if item.get_closest_marker("chaos_long") is None]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


class Recovery:
    """Collects one record per scenario: what was done, the figures, the bound."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def add(
        self,
        scenario: str,
        broker: str,
        figures: Figures | None = None,
        bound_s: float | None = None,
        **extra: Any,
    ) -> None:
        record: dict[str, Any] = {"scenario": scenario, "broker": broker}
        if figures is not None:
            record.update(figures.as_dict())
        if bound_s is not None:
            record["bound_s"] = bound_s
        record.update(extra)
        record["at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.records.append(record)
        print(f"\n[chaos] {describe(record)}")


def describe(record: dict[str, Any]) -> str:
    skip = {"scenario", "broker", "at"}
    rest = ", ".join(f"{k} {v}" for k, v in record.items() if k not in skip)
    return f"{record['scenario']} ({record['broker']}): {rest}"


@pytest.fixture(scope="session")
def recovery(request: pytest.FixtureRequest) -> Iterator[Recovery]:
    records = request.config.stash.setdefault(RECORDS, [])
    yield Recovery(records)
    if records:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(records, indent=2) + "\n")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    records = config.stash.get(RECORDS, [])
    if not records:
        return
    terminalreporter.section("chaos: time until consistent again")
    for record in records:
        terminalreporter.write_line(describe(record))
    terminalreporter.write_line(f"written to {REPORT}")


@pytest.fixture
def chaos_env(
    request: pytest.FixtureRequest,
    services: TestServices,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, str]]:
    """A pipeline's settings on the broker named by the test's parameter (Redis when not
    parametrized), with queue names of its own; RabbitMQ's queues are deleted after."""
    kind = getattr(request, "param", REDIS)
    if kind == AMQP and not services.amqp_url:
        pytest.skip("no RabbitMQ reachable (set TEST_AMQP_URL to run the AMQP variant)")
    broker = services.amqp_url if kind == AMQP else services.redis_url
    assert broker is not None
    env = stack_env(database_url, broker, services.redis_url, tmp_path)
    env["CHAOS_BROKER"] = kind
    if kind != AMQP:
        yield env
        return
    monkeypatch.setenv("QUEUE_PREFIX", env["QUEUE_PREFIX"])
    try:
        yield env
    finally:
        delete_queues(broker)
