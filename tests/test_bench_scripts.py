"""The end-to-end benchmark scripts run to the end with tiny parameters (they are
benchmarks, not tests: no figure is asserted, only that each one still works)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url

from tests.support.services import TestServices

ROOT = Path(__file__).resolve().parents[1]


def run_bench(services: TestServices, module: str, *args: str) -> str:
    env = {
        **os.environ,
        "DATABASE_URL": make_url(services.admin_database_url).render_as_string(False),
        "BROKER_URL": services.redis_url,
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", f"scripts.bench.{module}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize(
    ("module", "args", "expected"),
    [
        ("latency", ("--rate", "20", "--seconds", "2", "--warmup", "1"), "observed p99 ="),
        ("cost", ("--events", "200", "--batch", "16"), "direct insert (baseline)"),
        (
            "soak",
            ("--rate", "20", "--minutes", "0.05", "--warmup", "2", "--every", "2"),
            "growth <= 10 %",
        ),
        (
            "growth",
            ("--rows", "3000", "--body-bytes", "200", "--events", "200", "--rounds", "1"),
            "ingest during pruning",
        ),
    ],
)
def test_bench_script_runs(
    services: TestServices, module: str, args: tuple[str, ...], expected: str
) -> None:
    out = run_bench(services, module, *args)
    assert expected in out, out
