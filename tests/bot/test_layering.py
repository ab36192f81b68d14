"""The bot's handlers reach the database only through services from pipeline/: no
SQLAlchemy, no session in their signatures (bot/middlewares.py owns the session)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import bot.handlers
from bot.handlers import assistant, fallback, feedback, miniapp, orders, shop, start

HANDLERS = Path(bot.handlers.__file__).parent
MODULES = [assistant, fallback, feedback, miniapp, orders, shop, start]


@pytest.mark.parametrize("path", sorted(HANDLERS.glob("*.py")), ids=lambda p: p.name)
def test_handlers_import_no_sqlalchemy(path: Path) -> None:
    tree = ast.parse(path.read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.startswith("sqlalchemy") for name in imported)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_no_handler_takes_the_session(module: object) -> None:
    for name, function in inspect.getmembers(module, inspect.iscoroutinefunction):
        assert "session" not in inspect.signature(function).parameters, name
