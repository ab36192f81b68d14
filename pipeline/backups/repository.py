"""SQL of backups: the recorded runs (a session; the caller commits), and what a dump,
a verify and a restore ask of the server itself (a psycopg connection: the snapshot
pg_dump shares, row counts, scratch databases)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg
from psycopg import sql
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schema.operations import BackupRun

Connection = psycopg.Connection[tuple[object, ...]]


def recent_runs(
    session: Session, limit: int = 50, before_id: int | None = None
) -> Sequence[BackupRun]:
    """The latest recorded runs (below `before_id` if given), newest first."""
    stmt = select(BackupRun).order_by(BackupRun.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(BackupRun.id < before_id)
    return session.scalars(stmt).all()


def last_good_backup_at(session: Session) -> datetime | None:
    """When the latest successful run finished; None when none has."""
    stmt = select(func.max(BackupRun.finished_at)).where(BackupRun.ok.is_(True))
    value: datetime | None = session.execute(stmt).scalar_one()
    return value


def export_snapshot(conn: Connection) -> str:
    """Open a read-only repeatable-read transaction on `conn` and export its snapshot, for
    pg_dump's `--snapshot` (valid while that transaction stays open)."""
    conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    row = conn.execute("SELECT pg_export_snapshot()").fetchone()
    return str(row[0]) if row else ""


def row_counts(conn: Connection) -> dict[str, int]:
    """The row count of every user table, by `schema.table`."""
    tables = conn.execute(
        "SELECT schemaname, tablename FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
    ).fetchall()
    counts = {}
    for schema, table in tables:
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(str(schema)), sql.Identifier(str(table))
        )
        row = conn.execute(query).fetchone()
        counts[f"{schema}.{table}"] = int(str(row[0])) if row else 0
    return counts


def create_database(conn: Connection, name: str) -> None:
    """`conn`: an autocommit connection (CREATE DATABASE runs outside a transaction)."""
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(conn: Connection, name: str) -> None:
    """Drop `name` if it exists, ending its sessions; `conn` in autocommit."""
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
