"""The test folders mirror the packages (tests/README.md): every folder under tests/ is a
package path of ours (tests/pipeline/payments/ for pipeline/payments/), a package of test
modules itself, or inside one of the named suites that test no single package."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
# Suites across packages (and their data); tests/README.md says what each one holds.
NAMED = {"chaos", "flows", "deploy", "support", "fixtures"}
DATA = {"fixtures"}  # request bodies and sample files, no test modules
# Written by test runs, never committed (.gitignore).
GENERATED = {"__pycache__", "artifacts"}


def root_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return set(config["tool"]["importlinter"]["root_packages"])


def folders_under_tests() -> list[Path]:
    """Every folder under tests/ but the generated ones and those inside a named suite."""
    found: list[Path] = []
    for path in sorted(TESTS.rglob("*")):
        relative = path.relative_to(TESTS)
        if not path.is_dir() or relative.parts[0] in NAMED:
            continue
        if GENERATED & set(relative.parts) or any(p.startswith(".") for p in relative.parts):
            continue
        found.append(relative)
    return found


def test_every_test_folder_mirrors_a_package_or_is_a_named_suite() -> None:
    packages = root_packages()
    stray = [
        str(folder)
        for folder in folders_under_tests()
        if folder.parts[0] not in packages or not (ROOT / folder / "__init__.py").is_file()
    ]
    assert not stray, f"test folders without a package of the same path: {stray}"


def test_every_test_folder_is_a_package() -> None:
    """Test modules are imported by their package path (tests.pipeline.payments.conftest)."""
    folders = [f for f in folders_under_tests() if not (TESTS / f / "__init__.py").is_file()]
    suites = sorted(NAMED - DATA)
    folders += [Path(n) for n in suites if not (TESTS / n / "__init__.py").is_file()]
    assert not folders, f"test folders without __init__.py: {folders}"


def test_the_named_suites_are_no_package_names() -> None:
    """A named suite never shadows a package: its tests would then belong there."""
    assert not NAMED & root_packages()
    assert all((TESTS / name).is_dir() for name in NAMED)
