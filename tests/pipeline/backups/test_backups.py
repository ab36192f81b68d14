"""Backups against the real PostgreSQL: now -> verify -> restore, rotation, broken dumps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.backups import (
    BackupError,
    BackupFile,
    backup_now,
    list_backups,
    restore,
    rotate,
    to_keep,
    verify,
)
from pipeline.backups.jobs import run_backup
from pipeline.backups.repository import row_counts
from pipeline.deps import Deps
from pipeline.settings import Settings
from schema.messaging import Notification
from schema.operations import Alert, BackupRun
from schema.session import libpq_url
from tests.support.events import add_events
from tests.support.services import TestServices, create_database, drop_database


def test_backup_verify_restore_gives_the_same_rows(
    db: sessionmaker[Session], database_url: str, services: TestServices, tmp_path: Path
) -> None:
    add_events(db, 25)
    backup = backup_now(database_url, tmp_path)
    assert backup.checksum_path.exists() and backup.manifest_path.exists()
    assert list_backups(tmp_path) == [backup]
    result = verify(database_url, backup)
    assert result.rows >= 25
    fresh = create_database(services.admin_database_url)
    try:
        seen: list[tuple[int, int]] = []
        restore(fresh, backup, progress=lambda done, total: seen.append((done, total)))
        assert seen and seen[-1][0] == seen[-1][1]
        with psycopg.connect(libpq_url(fresh)) as a, psycopg.connect(libpq_url(database_url)) as b:
            assert row_counts(a) == row_counts(b)
            query = "SELECT id, source, external_id, status, raw_body FROM events ORDER BY id"
            assert a.execute(query).fetchall() == b.execute(query).fetchall()
    finally:
        drop_database(services.admin_database_url, fresh)


def test_a_broken_dump_fails_verify(database_url: str, tmp_path: Path) -> None:
    backup = backup_now(database_url, tmp_path)
    data = bytearray(backup.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    backup.path.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="checksum"):
        verify(database_url, backup)
    # Damaged consistently (checksum rewritten): the restore itself must fail.
    backup.path.write_bytes(bytes(data[: len(data) // 2]))
    backup.checksum_path.write_text(f"{backup.sha256()}  {backup.path.name}\n")
    with pytest.raises(BackupError):
        verify(database_url, backup)


def test_rotation_keeps_daily_and_weekly(tmp_path: Path) -> None:
    start = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)  # a Thursday
    for day in range(40):
        for hour in (0, 5):  # two backups a day: the newer one of each day counts
            stamp = (start + timedelta(days=day, hours=hour)).strftime("%Y%m%dT%H%M%SZ")
            path = tmp_path / f"pipeline-{stamp}.dump"
            path.write_bytes(b"x")
            BackupFile(path, start).checksum_path.write_text("0  x\n")
    backups = list_backups(tmp_path)
    assert len(backups) == 80
    keep = to_keep(backups, keep_daily=7, keep_weekly=4)
    rotate(tmp_path, 7, 4)
    left = list_backups(tmp_path)
    assert {b.path for b in left} == keep
    days = {b.created_at.date() for b in left}
    newest = backups[0].created_at.date()
    assert all(newest - timedelta(days=d) in days for d in range(7))
    assert all(b.created_at.hour == 8 for b in left)  # the newest of each day
    weeks = {b.created_at.isocalendar()[:2] for b in left}
    assert len(weeks) == 4 and len(left) <= 7 + 4
    assert not list(tmp_path.glob("*.sha256")) or len(list(tmp_path.glob("*.sha256"))) == len(left)


def test_failed_backup_job_records_and_alerts(
    db: sessionmaker[Session], database_url: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    settings = Settings(backup_dir=blocker / "sub", alert_chat_id=-100)
    assert run_backup(db, database_url, Deps(settings)) is None
    with db() as session:
        run = session.scalars(select(BackupRun)).one()
        assert not run.ok and run.error
        alert = session.get(Alert, "backup_failed")
        assert alert is not None and alert.status == "firing"
        (note,) = session.scalars(select(Notification)).all()
        assert (
            note.kind == "alert" and note.chat_id == -100 and "backup failed" in (note.text or "")
        )
    good = Settings(backup_dir=tmp_path / "ok", alert_chat_id=-100)
    assert run_backup(db, database_url, Deps(good)) is not None
    with db() as session:
        assert session.get(Alert, "backup_failed").status == "resolved"  # type: ignore[union-attr]
        texts = [
            n.text or "" for n in session.scalars(select(Notification).order_by(Notification.id))
        ]
        assert texts[-1].startswith("✅")


def _recording(tool: Path, log: Path, directory: Path) -> Path:
    """A wrapper that records its command line and whether PGPASSWORD is set, then runs
    the real tool: what any user of the machine could read from the process list."""
    wrapper = directory / tool.name
    wrapper.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$*" >> {log}\n'
        f'[ -n "$PGPASSWORD" ] && echo "PGPASSWORD set" >> {log}\n'
        f'exec {tool} "$@"\n'
    )
    wrapper.chmod(0o700)
    return wrapper


def test_password_goes_by_environment_and_files_are_private(
    database_url: str, services: TestServices, tmp_path: Path
) -> None:
    from sqlalchemy.engine import make_url

    from pipeline.backups.tools import Tools, find_tools

    # The test server trusts local connections, so any password is accepted.
    password = "backup-canary-password"
    url = make_url(database_url).set(password=password).render_as_string(hide_password=False)
    real = find_tools(url)
    log, bin_dir = tmp_path / "argv.log", tmp_path / "bin"
    bin_dir.mkdir()
    tools = Tools(_recording(real.pg_dump, log, bin_dir), _recording(real.pg_restore, log, bin_dir))
    directory = tmp_path / "backups"
    directory.mkdir(mode=0o755)
    backup = backup_now(url, directory, tools=tools)
    verify(url, backup, tools=tools)
    recorded = log.read_text()
    assert "--format=custom" in recorded and "--single-transaction" in recorded  # both ran
    assert recorded.count("PGPASSWORD set") >= 2  # pg_dump and the restore of verify
    assert password not in recorded
    assert directory.stat().st_mode & 0o777 == 0o700
    for path in (backup.path, backup.checksum_path, backup.manifest_path):
        assert path.stat().st_mode & 0o777 == 0o600, path
