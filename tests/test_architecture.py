"""The import direction of design.md, enforced on every module of the packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"schema", "pipeline", "webhooks", "workers", "bot", "api", "grpc_api", "migrations"}
ALLOWED = {
    "schema": set(),
    "pipeline": {"schema"},
    "webhooks": {"pipeline", "schema"},
    "workers": {"pipeline", "schema"},
    "bot": {"pipeline", "schema"},
    "api": {"pipeline", "schema"},
    "grpc_api": {"pipeline", "schema"},
    "migrations": {"schema"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_packages_import_only_what_the_design_allows(package: str) -> None:
    violations = []
    for path in sorted((ROOT / package).rglob("*.py")):
        wrong = imported_packages(path) - ALLOWED[package] - {package}
        if wrong:
            violations.append(f"{path.relative_to(ROOT)} imports {sorted(wrong)}")
    assert not violations, "\n".join(violations)


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from workers.celery_app import app\nimport webhooks.main\n")
    assert imported_packages(module) == {"workers", "webhooks"}
