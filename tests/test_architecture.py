"""The import direction of design.md: the import-linter contracts of pyproject.toml.

`[tool.importlinter]` holds the contracts (layers, independent edges, a core free of
frameworks); this runs them on the real code, and on a small tree that breaks each one
so a contract that stopped checking anything would be noticed.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def lint(config: Path, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.chdir(cwd)
    monkeypatch.syspath_prepend(str(cwd))
    # grimp caches the graph per directory; a fresh one each time keeps runs independent.
    return lint_imports(config_filename=str(config), no_cache=True)


def test_the_code_keeps_every_contract(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = lint(ROOT / "pyproject.toml", ROOT, monkeypatch)
    assert code == 0, capsys.readouterr().out


def package(root: Path, name: str, source: str = "") -> None:
    (root / name).mkdir()
    (root / name / "__init__.py").write_text(textwrap.dedent(source))


def test_the_contracts_see_violations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same contracts on a tree where the core imports an edge and a framework,
    and one edge imports another: every contract must break."""
    package(tmp_path, "schema")
    package(tmp_path, "pipeline", "import webhooks\nimport kombu\n")
    package(tmp_path, "webhooks", "import workers\n")
    for name in ("adapters", "workers", "bot", "api", "grpc_api", "cli"):
        package(tmp_path, name)
    config = tmp_path / "pyproject.toml"
    # The contracts without their documented exceptions (which match nothing here).
    contracts = (ROOT / "pyproject.toml").read_text()
    config.write_text(re.sub(r"\nignore_imports = \[.*?\n\]", "", contracts, flags=re.S))
    for name in [n for n in sys.modules if n.split(".")[0] in {"pipeline", "webhooks"}]:
        monkeypatch.delitem(sys.modules, name)
    assert lint(config, tmp_path, monkeypatch) == 1
    report = capsys.readouterr().out
    assert "0 kept" in report, report
    assert "pipeline -> webhooks" in report or "pipeline\n" in report, report
    assert "webhooks -> workers" in report, report
    assert "kombu" in report, report


PACKAGES: tuple[str, ...] = ("adapters", "api", "bot", "cli", "grpc_api", "pipeline", "schema")
PACKAGES += ("webhooks", "workers")


def private_uses(source: str) -> list[str]:
    """`from our.module import _name` and `our_module._name`: another module's private
    names, which it may change without looking for users."""
    tree = ast.parse(source)
    modules: set[str] = set()
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PACKAGES:
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{node.module}.{alias.name}")
                modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules.update(
                alias.asname or alias.name.split(".")[0]
                for alias in node.names
                if alias.name.split(".")[0] in PACKAGES
            )
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.append(f"{node.value.id}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names() -> None:
    used = {
        str(path.relative_to(ROOT)): names
        for name in PACKAGES
        for path in sorted((ROOT / name).rglob("*.py"))
        if (names := private_uses(path.read_text()))
    }
    assert used == {}


def test_private_uses_are_seen() -> None:
    source = "from api.routes import auth\nfrom api.routes.auth import _key\nauth._code_key(1)\n"
    assert private_uses(source) == ["api.routes.auth._key", "auth._code_key"]
