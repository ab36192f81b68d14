"""SQL for table upkeep: the server's autovacuum switch, dead rows per table, VACUUM.

VACUUM cannot run inside a transaction block, so these take a Connection (the caller
opens it in autocommit), not a Session.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import Connection, text


@dataclass(frozen=True, slots=True)
class TableRows:
    name: str
    live: int
    dead: int


def autovacuum_on(conn: Connection) -> bool:
    """The server-wide switch (a table's own `autovacuum_enabled` cannot override it)."""
    return bool(conn.execute(text("SELECT current_setting('autovacuum')::boolean")).scalar())


def table_rows(conn: Connection, tables: Collection[str]) -> list[TableRows]:
    """Live and dead row estimates of `tables` in the current schema, from the server's
    statistics (updated as transactions end, not exact)."""
    found = conn.execute(
        text(
            "SELECT relname, n_live_tup, n_dead_tup FROM pg_stat_user_tables "
            "WHERE schemaname = current_schema() AND relname = ANY(:tables) ORDER BY relname"
        ),
        {"tables": sorted(tables)},
    )
    return [TableRows(str(r.relname), int(r.n_live_tup), int(r.n_dead_tup)) for r in found]


def vacuum(conn: Connection, table: str) -> None:
    """VACUUM (ANALYZE) one table; skipped at once if another VACUUM holds it. Takes
    no lock that blocks reads or writes of the table."""
    quoted = conn.dialect.identifier_preparer.quote(table)
    conn.execute(text(f"VACUUM (ANALYZE, SKIP_LOCKED) {quoted}"))
