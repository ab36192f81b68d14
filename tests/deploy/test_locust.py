"""locustfile.py drives a real receiver with signed webhooks that are all accepted."""

from __future__ import annotations

import csv
import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.broker import purge
from tests.support.processes import pipeline_env, receiver

if TYPE_CHECKING:
    from tests.support.services import TestServices

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "locustfile.py"


def test_locustfile_compiles() -> None:
    py_compile.compile(str(LOCUSTFILE), doraise=True)


@pytest.mark.process
def test_locust_drives_the_receiver_with_accepted_webhooks(
    tmp_path: Path,
    services: TestServices,
    database_url: str,
    queue_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Run in a subprocess: importing locust monkey-patches the interpreter (gevent).
    locust = shutil.which("locust", path=str(Path(sys.executable).parent))
    assert locust is not None, "locust is a dev dependency: run scripts/bootstrap.py"
    prefix = f"{queue_prefix}locust-"
    monkeypatch.setenv("QUEUE_PREFIX", prefix)
    env = pipeline_env(
        DATABASE_URL=database_url, BROKER_URL=services.redis_url, QUEUE_PREFIX=prefix
    )
    try:
        with receiver(env, tmp_path) as base:
            stats = tmp_path / "stats"
            run = subprocess.run(
                [locust, "-f", str(LOCUSTFILE), "--host", base, "--headless",
                 "--users", "4", "--spawn-rate", "4", "--run-time", "4s",
                 "--only-summary", "--csv", str(stats), "--loglevel", "WARNING"],
                env={**os.environ, "LOAD_PROVIDERS": "telegram,stripe"},
                cwd=tmp_path, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        with (tmp_path / "stats_stats.csv").open() as handle:
            rows = {row["Name"]: row for row in csv.DictReader(handle)}
        for name in ("/webhooks/telegram", "/webhooks/stripe"):
            assert int(rows[name]["Request Count"]) > 0, name
            assert int(rows[name]["Failure Count"]) == 0, name
    finally:
        purge(services.redis_url, "ingest")
