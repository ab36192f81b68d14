"""Releases: one version source (pyproject) shown by the CLI, /healthz and the image label;
CHANGELOG.md in Keep a Changelog form; the script that cuts a version's section out of it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app as cli
from pipeline.version import __version__
from scripts.release.changelog_section import SectionNotFound, main, section

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT_VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

SAMPLE = """# Changelog

## [Unreleased]

### Fixed
- Something not yet released.

## [1.2.0] - 2026-03-01

### Added
- Feature A.

## [1.1.0] - 2026-02-01

### Added
- Feature B.

[Unreleased]: https://example.com/compare/v1.2.0...HEAD
[1.2.0]: https://example.com/releases/tag/v1.2.0
"""


def test_the_version_is_pyprojects() -> None:
    assert __version__ == PYPROJECT_VERSION
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"pipeline {PYPROJECT_VERSION}"


def test_the_image_is_labelled_with_the_version() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert 'org.opencontainers.image.version="${VERSION}"' in dockerfile
    assert f"ARG VERSION={PYPROJECT_VERSION}" in dockerfile


def test_changelog_has_unreleased_and_the_current_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.M)
    assert headings[0] == ("Unreleased", "")
    versions = [version for version, _ in headings[1:]]
    assert PYPROJECT_VERSION in versions or section(text, "Unreleased")
    for version, date in headings[1:]:
        assert re.fullmatch(r"\d+\.\d+\.\d+", version) and date, version
        assert section(text, version).startswith("### ")


@pytest.mark.parametrize(
    ("version", "first", "absent"),
    [
        ("1.2.0", "### Added\n- Feature A.", "Feature B"),
        ("v1.2.0", "### Added\n- Feature A.", "Feature B"),
        ("Unreleased", "### Fixed", "Feature A"),
        ("1.1.0", "### Added\n- Feature B.", "https://"),
    ],
)
def test_section_is_the_text_between_headings(version: str, first: str, absent: str) -> None:
    body = section(SAMPLE, version)
    assert body.startswith(first) and absent not in body


def test_missing_or_empty_section_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SectionNotFound):
        section(SAMPLE, "9.9.9")
    path = tmp_path / "CHANGELOG.md"
    path.write_text(SAMPLE + "\n## [0.9.0] - 2026-01-01\n")
    assert main(["9.9.9", "--file", str(path)]) == 1
    assert main(["0.9.0", "--file", str(path)]) == 1
    assert "empty" in capsys.readouterr().err
    assert main(["v1.2.0", "--file", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "### Added\n- Feature A."
