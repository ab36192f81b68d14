"""The Prometheus and Alertmanager binaries (Debian's `prometheus` and
`prometheus-alertmanager`, installed by scripts/ci_system_deps.sh)."""

from __future__ import annotations

import shutil

import pytest

HINT = (
    "install with `apt-get install -y prometheus prometheus-alertmanager`"
    " (scripts/ci_system_deps.sh does)"
)


def tool(*names: str) -> str:
    """The first of `names` on PATH; skips the test, saying why, when none is."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(f"{names[0]} is not installed ({HINT})")


def promtool() -> str:
    return tool("promtool")


def amtool() -> str:
    return tool("amtool")


def prometheus() -> str:
    return tool("prometheus")


def alertmanager() -> str:
    # Debian names the server binary prometheus-alertmanager.
    return tool("alertmanager", "prometheus-alertmanager")
