"""How the long-running roles start: Flower is never open to a network without a login,
and the receiver leaves X-Forwarded-For to TRUSTED_PROXIES (not uvicorn's own switch)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from pipeline.cli import app as cli
from pipeline.cli import serve
from pipeline.settings import get_settings


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
