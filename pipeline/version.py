"""The pipeline's version: the package version in pyproject.toml, read from the installed
metadata (what `pipeline --version`, `/healthz` and the image label show)."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

DISTRIBUTION = "tg-webhook-pipeline"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _from_pyproject() -> str | None:
    """A source checkout that was not installed still knows its version."""
    try:
        text = PYPROJECT.read_text(encoding="utf-8")
    except OSError:
        return None
    found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
    return found.group(1) if found else None


def pipeline_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return _from_pyproject() or "0+unknown"


__version__ = pipeline_version()
