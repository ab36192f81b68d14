"""Backups: pg_dump in custom format, a `.sha256` and a `.json` manifest beside each file,
rotation, verification by restoring into a scratch database, and restore.

The manifest holds the row count of every table, counted inside the very snapshot
pg_dump dumps (`--snapshot`), so `verify` can compare a restore exactly.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pipeline.backups import repository
from pipeline.backups.tools import Tools, find_tools
from schema.session import libpq_url

SUFFIX = ".dump"
STAMP = "%Y%m%dT%H%M%SZ"


class BackupError(Exception):
    """A dump, verification or restore failed; the message says which step."""


@dataclass(frozen=True)
class BackupFile:
    path: Path
    created_at: datetime

    @property
    def checksum_path(self) -> Path:
        return self.path.with_name(self.path.name + ".sha256")

    @property
    def manifest_path(self) -> Path:
        return self.path.with_name(self.path.name + ".json")

    def manifest(self) -> dict[str, object]:
        data: dict[str, object] = json.loads(self.manifest_path.read_text())
        return data

    def sha256(self) -> str:
        digest = hashlib.sha256()
        with self.path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def check(self) -> None:
        """The file matches the checksum written beside it."""
        if not self.checksum_path.exists():
            raise BackupError(f"{self.path.name}: no checksum file")
        expected = self.checksum_path.read_text().split()[0]
        if self.sha256() != expected:
            raise BackupError(f"{self.path.name}: checksum mismatch (file damaged)")


def _run(
    args: list[str], what: str, *, env: dict[str, str] | None = None, stdout: Any = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip()[-800:]}")
    return result


def connection_args(url: str) -> tuple[str, dict[str, str]]:
    """`--dbname` for pg_dump / pg_restore without the password, and the environment that
    carries it (PGPASSWORD): a command line is readable by every user of the machine."""
    params = conninfo_to_dict(libpq_url(url))
    password = params.pop("password", None)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo(**{k: str(v) for k, v in params.items() if v is not None}), env


def private_directory(directory: Path) -> None:
    """The backup directory, readable by its owner only: dumps hold every customer."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)


def private_file(path: Path) -> IO[str]:
    """A new file only its owner can read (0600 from creation: no window with wider modes)."""
    path.unlink(missing_ok=True)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w")


Progress = Callable[[int, int], None]  # (done, total)


def _counted(
    args: list[str], what: str, marks: tuple[str, ...], total: int,
    progress: Progress | None, *, env: dict[str, str], stdout: Any = None,
) -> None:  # fmt: skip
    """Run a `--verbose` pg tool, counting its stderr lines that start with one of `marks`
    as steps of `total`."""
    process = subprocess.Popen(args, stdout=stdout, stderr=subprocess.PIPE, text=True, env=env)
    done, tail = 0, list[str]()
    assert process.stderr is not None
    for line in process.stderr:
        tail = [*tail[-20:], line.rstrip()]
        if line.startswith(marks):
            done = min(total, done + 1)
            if progress:
                progress(done, total)
    if process.wait() != 0:
        raise BackupError(f"{what} failed: " + " | ".join(tail[-5:]))
    if progress:
        progress(total, total)


def backup_now(
    url: str, directory: Path, *, tools: Tools | None = None, progress: Progress | None = None
) -> BackupFile:
    """Dump the database to `directory`; returns the file once dump, checksum and
    manifest are all written (a partial dump never carries the final name). Progress
    counts the tables pg_dump has dumped the contents of."""
    tools = tools or find_tools(url)
    private_directory(directory)
    dbname, env = connection_args(url)
    now = datetime.now(UTC).replace(microsecond=0)
    path = directory / f"pipeline-{now.strftime(STAMP)}{SUFFIX}"
    partial = path.with_name(path.name + ".partial")
    with psycopg.connect(libpq_url(url)) as conn:
        snapshot = repository.export_snapshot(conn)
        counts = repository.row_counts(conn)
        with private_file(partial) as dump:  # pg_dump writes to stdout: the file is ours
            _counted(
                [str(tools.pg_dump), "--format=custom", f"--snapshot={snapshot}", "--no-owner",
                 "--verbose", f"--dbname={dbname}"],
                "pg_dump", ("pg_dump: dumping contents of table",), len(counts), progress,
                env=env, stdout=dump,
            )  # fmt: skip
        conn.rollback()
    os.replace(partial, path)
    backup = BackupFile(path, now)
    with private_file(backup.checksum_path) as out:
        out.write(f"{backup.sha256()}  {path.name}\n")
    manifest = {"created_at": now.isoformat(), "tables": counts, "size": path.stat().st_size}
    with private_file(backup.manifest_path) as out:
        out.write(json.dumps(manifest, indent=2, sort_keys=True))
    return backup


def list_backups(directory: Path) -> list[BackupFile]:
    """Backups in `directory`, newest first."""
    found = []
    for path in directory.glob(f"pipeline-*{SUFFIX}") if directory.exists() else []:
        try:
            created = datetime.strptime(path.stem.removeprefix("pipeline-"), STAMP)
        except ValueError:
            continue
        found.append(BackupFile(path, created.replace(tzinfo=UTC)))
    return sorted(found, key=lambda b: b.created_at, reverse=True)


def to_keep(backups: list[BackupFile], keep_daily: int, keep_weekly: int) -> set[Path]:
    """Newest backup of each of the last `keep_daily` days that have one, and of each of
    the last `keep_weekly` ISO weeks."""
    keep: set[Path] = set()
    days: dict[date, BackupFile] = {}
    weeks: dict[tuple[int, int], BackupFile] = {}
    for backup in backups:  # newest first: the first seen per period is its newest
        days.setdefault(backup.created_at.date(), backup)
        iso = backup.created_at.isocalendar()
        weeks.setdefault((iso.year, iso.week), backup)
    keep.update(b.path for b in list(days.values())[:keep_daily])
    keep.update(b.path for b in list(weeks.values())[:keep_weekly])
    return keep


def rotate(directory: Path, keep_daily: int, keep_weekly: int) -> list[Path]:
    backups = list_backups(directory)
    keep = to_keep(backups, keep_daily, keep_weekly)
    removed = []
    for backup in backups:
        if backup.path not in keep:
            for path in (backup.path, backup.checksum_path, backup.manifest_path):
                path.unlink(missing_ok=True)
            removed.append(backup.path)
    return removed


def _admin(url: str) -> repository.Connection:
    return psycopg.connect(libpq_url(url, "postgres"), autocommit=True, connect_timeout=5)


def create_database(url: str, name: str) -> None:
    with _admin(url) as conn:
        repository.create_database(conn, name)


def drop_database(url: str, name: str) -> None:
    with _admin(url) as conn:
        repository.drop_database(conn, name)


def restore(
    url: str, backup: BackupFile, *, clean: bool = True, progress: Progress | None = None,
    tools: Tools | None = None,
) -> None:  # fmt: skip
    """Restore `backup` into the database of `url` (objects dropped first when `clean`).
    Progress counts pg_restore's verbose lines against the archive's table of contents."""
    backup.check()
    tools = tools or find_tools(url)
    listing = _run([str(tools.pg_restore), "--list", str(backup.path)], "pg_restore --list")
    total = sum(1 for line in listing.stdout.splitlines() if line and not line.startswith(";"))
    dbname, env = connection_args(url)
    args = [str(tools.pg_restore), "--verbose", "--no-owner", "--exit-on-error",
            "--single-transaction", f"--dbname={dbname}"]  # fmt: skip
    if clean:
        args += ["--clean", "--if-exists"]
    marks = ("pg_restore: creating", "pg_restore: processing")
    _counted([*args, str(backup.path)], "pg_restore", marks, total, progress, env=env)


@dataclass(frozen=True)
class Verification:
    backup: BackupFile
    tables: int
    rows: int


def verify(
    url: str, backup: BackupFile, *, tools: Tools | None = None, progress: Progress | None = None
) -> Verification:
    """Restore into a scratch database on the same server; every table's row count must
    equal the manifest's."""
    expected = {str(k): int(v) for k, v in dict(backup.manifest()["tables"]).items()}  # type: ignore[call-overload]
    scratch = f"pipeline_verify_{uuid.uuid4().hex[:10]}"
    create_database(url, scratch)
    try:
        restore(libpq_url(url, scratch), backup, clean=False, tools=tools, progress=progress)
        with psycopg.connect(libpq_url(url, scratch)) as conn:
            actual = repository.row_counts(conn)
    finally:
        drop_database(url, scratch)
    if actual != expected:
        diff = {t: (expected.get(t), actual.get(t)) for t in set(expected) | set(actual)
                if expected.get(t) != actual.get(t)}  # fmt: skip
        raise BackupError(f"{backup.path.name}: row counts differ (expected, restored): {diff}")
    return Verification(backup, len(actual), sum(actual.values()))
