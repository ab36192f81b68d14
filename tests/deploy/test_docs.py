"""The documentation site builds with `mkdocs build --strict`, and the configuration
reference is what scripts/gen_config_docs.py makes from the settings classes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import gen_config_docs  # noqa: E402

sys.path.pop(0)


def test_configuration_reference_is_up_to_date() -> None:
    generated = gen_config_docs.render()
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == generated, (
        "docs/configuration.md is out of date: run `python scripts/gen_config_docs.py`"
    )


def test_configuration_reference_covers_every_settings_class() -> None:
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    classes = gen_config_docs.settings_classes()
    assert classes[0] is Settings
    assert any(cls.__module__.startswith("pipeline.providers.") for cls in classes)
    for cls in classes:
        assert f"`{cls.__module__}.{cls.__name__}`" in page
        for name, info in cls.model_fields.items():
            assert f"`{gen_config_docs.env_name(cls, name, info)}`" in page


def test_mkdocs_builds_strictly(tmp_path: Path) -> None:
    pytest.importorskip("material", reason="mkdocs-material is a dev dependency")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    overview = (site / "overview" / "index.html").read_text(encoding="utf-8")
    assert 'class="mermaid"' in overview, "the architecture diagram is rendered by Mermaid"
    contributing = (site / "contributing" / "index.html").read_text(encoding="utf-8")
    assert "Gitflow" in contributing, "CONTRIBUTING.md is included in the site"
