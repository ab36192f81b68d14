"""`pipeline backup ...` end to end on the real server."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli import app
from pipeline.settings import get_settings
from schema.session import libpq_url
from tests.support.events import add_events
from tests.support.services import TestServices, create_database, drop_database

runner = CliRunner()


def test_now_list_verify_restore(
    db: sessionmaker[Session],
    services: TestServices,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path))
    get_settings.cache_clear()
    add_events(db, 7)
    made = runner.invoke(app, ["backup", "now"])
    assert made.exit_code == 0, made.output
    listed = runner.invoke(app, ["backup", "list"])
    assert "sha256:ok" in listed.output
    checked = runner.invoke(app, ["backup", "verify"])
    assert checked.exit_code == 0 and "rows match" in checked.output, checked.output
    target = create_database(services.admin_database_url)
    try:
        refused = runner.invoke(app, ["backup", "restore", "--database-url", target], input="n\n")
        assert refused.exit_code != 0 and "Overwrite" in refused.output
        done = runner.invoke(app, ["backup", "restore", "--database-url", target, "--yes"])
        assert done.exit_code == 0, done.output
        with psycopg.connect(libpq_url(target)) as conn:
            row = conn.execute("SELECT count(*) FROM events").fetchone()
            assert row is not None and row[0] == 7
    finally:
        drop_database(services.admin_database_url, target)
