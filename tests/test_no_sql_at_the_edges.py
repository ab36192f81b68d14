"""SQL lives in the `repository` modules of pipeline/, so each query has one home to
review: the processes at the edges (workers, CLI, bot, operator API and console, gRPC
API, webhook receiver) and the adapters call services and repositories, and hold none;
neither do the domain's services.

A repository module is a package's `repository.py` or a `<topic>_repository.py` beside
it (where one file would grow too long); `pipeline/embedded.py`, which creates the
embedded server's database before anything else exists, is the one other module.
(schema/, below the domain, holds the tables and the engine with its readiness ping.)

Checked on the syntax tree: no query construction imported from SQLAlchemy (`select`,
`update`, `delete`, `insert`, `text`, from any of its modules, by name or through the
module), and no `.execute(...)` on a session or connection. The checker itself is run
on a sample that breaks each rule, so a check that stopped seeing anything is noticed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EDGES = ("workers", "cli", "bot", "api", "grpc_api", "webhooks", "adapters")
QUERY_BUILDERS = frozenset({"select", "update", "delete", "insert", "text"})
DB_HANDLES = ("session", "conn", "connection")


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _dotted(node.func) + "()"
    return ""


def sql_found(source: str) -> list[str]:
    """Where `source` builds or runs SQL itself: one line per finding."""
    found: list[str] = []
    sqlalchemy_names: set[str] = set()  # local names bound to a sqlalchemy module
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            for alias in node.names:
                if alias.name in QUERY_BUILDERS:
                    found.append(f"line {node.lineno}: imports {alias.name} from {node.module}")
                elif alias.name != "*":
                    sqlalchemy_names.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sqlalchemy"):
                    sqlalchemy_names.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        owner = _dotted(node.value)
        if node.attr in QUERY_BUILDERS and owner.split(".")[0] in sqlalchemy_names:
            found.append(f"line {node.lineno}: {owner}.{node.attr}")
        last = owner.rsplit(".", 1)[-1].removesuffix("()")
        if node.attr == "execute" and any(handle in last.lower() for handle in DB_HANDLES):
            found.append(f"line {node.lineno}: {owner}.execute")
    return found


NOT_DOMAIN = frozenset({"pipeline/embedded.py"})


def edge_modules() -> list[Path]:
    return sorted(path for edge in EDGES for path in (ROOT / edge).rglob("*.py"))


def is_repository(path: Path) -> bool:
    return path.name == "repository.py" or path.name.endswith("_repository.py")


def domain_modules() -> list[Path]:
    return sorted(
        path
        for path in (ROOT / "pipeline").rglob("*.py")
        if not is_repository(path) and str(path.relative_to(ROOT)) not in NOT_DOMAIN
    )


@pytest.mark.parametrize("path", edge_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_edges_hold_no_sql(path: Path) -> None:
    assert sql_found(path.read_text()) == []


@pytest.mark.parametrize("path", domain_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_domain_keeps_its_sql_in_repositories(path: Path) -> None:
    assert sql_found(path.read_text()) == []


def test_every_package_with_a_repository_module_has_its_repository() -> None:
    """A `<topic>_repository.py` sits beside its package's `repository.py`."""
    lone = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "pipeline").rglob("*_repository.py")
        if not (path.parent / "repository.py").exists()
    ]
    assert lone == []


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy import select",
        "from sqlalchemy.dialects.postgresql import insert as pg_insert",
        "from sqlalchemy import sql\nstmt = sql.text('SELECT 1')",
        "import sqlalchemy as sa\nstmt = sa.update(Order)",
        "import sqlalchemy.sql\nstmt = sqlalchemy.sql.delete(Order)",
        "with sessions() as session:\n    session.execute(stmt)",
        "uow.session.execute(stmt)",
        "sessions().execute(stmt)",
        "engine.connect().execute(stmt)",
    ],
)
def test_the_check_sees_each_kind_of_sql(source: str) -> None:
    assert sql_found(source) != []


def test_the_check_leaves_repository_calls_alone() -> None:
    source = (
        "from sqlalchemy.orm import Session, sessionmaker\n"
        "from sqlalchemy.exc import IntegrityError\n"
        "with unit_of_work(sessions) as uow:\n"
        "    found = repository.reset_for_replay(uow.session, 7)\n"
        "    uow.session.get(Event, 7)\n"
        "    values.update(a=1)\n"
        "    text('en', 'greeting')\n"
        "    executor.execute(job)\n"
    )
    assert sql_found(source) == []
