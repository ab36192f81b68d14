"""A third-party provider package installed beside the pipeline: found through the
`pipeline.providers` entry point group and served by the receiver, core untouched."""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app as cli
from pipeline.providers.registry import build_registry
from pipeline.settings import get_settings
from tests.pipeline.providers.cases import FIXTURES, Request
from tests.pipeline.providers.conftest import drain, running_receiver

PLUGIN = FIXTURES / "plugin"


def install(target: Path, source: Path) -> None:
    """pip-install the package into `target`; without a build backend at hand, lay out
    the installed metadata by hand (a .dist-info with entry_points.txt is all it takes)."""
    if importlib.util.find_spec("setuptools") is not None:
        subprocess.run(
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                "--no-build-isolation", "--target", str(target), str(source),
            ],
            check=True,
        )  # fmt: skip
        return
    shutil.copy(source / "pipeline_echo_provider.py", target)
    info = target / "pipeline_echo_provider-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pipeline-echo-provider\n")
    (info / "entry_points.txt").write_text(
        "[pipeline.providers]\necho = pipeline_echo_provider:provider\n"
    )


@pytest.fixture
def plugin_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    source = tmp_path / "src"
    shutil.copytree(PLUGIN, source)  # builds write into the source tree: not ours
    target = tmp_path / "site"
    target.mkdir()
    install(target, source)
    monkeypatch.syspath_prepend(str(target))
    importlib.invalidate_caches()
    monkeypatch.setenv("ECHO_TOKEN", "echo-secret")
    yield
    sys.modules.pop("pipeline_echo_provider", None)


@pytest.mark.usefixtures("plugin_installed")
def test_installed_provider_is_registered_and_served(broker: str) -> None:
    registry = build_registry(get_settings())
    assert "echo" in registry.names()
    request = Request(
        "/webhooks/echo",
        b'{"id": "evt-1", "said": "hello"}',
        {"X-Echo-Token": "echo-secret", "Content-Type": "application/json"},
    )
    with running_receiver(broker) as (_, send):
        response = send(request)
        assert (response.status_code, response.text) == (200, "echo-ok")
        forged = send(request.with_headers(X_Echo_Token="guess"))
        assert forged.status_code == 401
    [envelope] = drain(broker)
    assert (envelope.provider, envelope.external_id) == ("echo", "evt-1")


@pytest.mark.usefixtures("plugin_installed")
def test_providers_list_shows_the_plugin() -> None:
    result = CliRunner().invoke(cli, ["providers", "list"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("echo"))
    assert "/webhooks/echo" in line and "yes" in line and "X-Echo-Token" in line


def test_without_the_package_there_is_no_such_provider() -> None:
    assert "echo" not in build_registry(get_settings()).names()
