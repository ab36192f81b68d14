"""How the long-running roles start: Flower is never open to a network without a login,
and the receiver leaves X-Forwarded-For to TRUSTED_PROXIES (not uvicorn's own switch)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from cli import app as cli
from cli import serve
from pipeline.embedded import EmbeddedRedis
from pipeline.settings import get_settings
from tests.support.leftovers import servers_in
from tests.support.processes import pipeline_env, receiver, wait_until
from tests.support.services import TestServices


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """Celery commands the CLI would run (nothing is started)."""
    commands: list[list[str]] = []

    class Nothing:
        def stop_started(self) -> None:
            pass

    monkeypatch.setattr(serve, "prepare", lambda role, data_dir: Nothing())
    monkeypatch.setattr(serve, "run_celery", lambda args, services: commands.append(args))
    monkeypatch.delenv("FLOWER_BASIC_AUTH", raising=False)
    get_settings.cache_clear()
    yield commands
    get_settings.cache_clear()


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "10.1.2.3", "flower.internal"])
def test_flower_refuses_a_network_address_without_a_login(
    address: str, started: list[list[str]]
) -> None:
    result = CliRunner().invoke(cli, ["flower", "--address", address])
    assert result.exit_code == 2
    assert "FLOWER_BASIC_AUTH" in result.output
    assert started == []


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "localhost"])
def test_flower_on_loopback_needs_no_login(address: str, started: list[list[str]]) -> None:
    assert CliRunner().invoke(cli, ["flower", "--address", address]).exit_code == 0
    assert started == [["flower", "--port=5555", f"--address={address}"]]


def test_flower_with_a_login_listens_anywhere(
    started: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWER_BASIC_AUTH", "ops:s3cret-flower")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["flower", "--address", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert not any("s3cret-flower" in arg for arg in started[0])  # not on the command line


def test_receiver_ignores_uvicorns_proxy_headers(
    started: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    assert CliRunner().invoke(cli, ["receiver"]).exit_code == 0
    assert seen["proxy_headers"] is False


@pytest.mark.process
def test_a_stopped_receiver_stops_the_redis_it_started(
    services: TestServices, database_url: str, tmp_path: Path
) -> None:
    """SIGTERM (what `docker stop` and the tests send): the receiver's own embedded Redis
    goes down with it instead of running on in the data directory."""
    data_dir = Path(tempfile.mkdtemp(prefix="pl-rcv-", dir="/tmp"))
    env = pipeline_env(DATABASE_URL=database_url, BROKER_URL=services.redis_url)
    env.pop("REDIS_URL", None)
    env["DATA_DIR"] = str(data_dir)
    try:
        with receiver(env, tmp_path):
            assert EmbeddedRedis(data_dir).running_url() is not None  # started for REDIS_URL
        wait_until(lambda: not servers_in([data_dir]), 10, "the embedded Redis to stop")
    finally:
        EmbeddedRedis(data_dir).stop()
        shutil.rmtree(data_dir, ignore_errors=True)
