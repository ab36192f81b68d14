"""Many rows in one INSERT whose text never changes: `INSERT ... SELECT * FROM unnest(...)`.

A multi-row VALUES list is a new statement for every row count: SQLAlchemy compiles it
again and psycopg parses its placeholders again, which costs more than the database's
own work for a batch of a hundred rows. Here each column travels as one array parameter,
so the statement is compiled once and PostgreSQL can keep its plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import TextClause, text


def unnest_insert(
    table: str,
    columns: Mapping[str, str],
    tail: str,
    computed: Mapping[str, str] | None = None,
) -> TextClause:
    """`columns`: name -> PostgreSQL type of its values; `tail`: ON CONFLICT / RETURNING;
    `computed`: name -> the SQL expression inserted for that column instead of its value
    (which it can read as `v.<name>`)."""
    arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in columns.items())
    names = ", ".join(columns)
    values = ", ".join((computed or {}).get(name, f"v.{name}") for name in columns)
    return text(
        f"INSERT INTO {table} ({names}) SELECT {values} FROM unnest({arrays}) AS v({names}) {tail}"
    )


def unnest_update(
    table: str, key: str, columns: Mapping[str, str], touch: str | None = None
) -> TextClause:
    """`UPDATE table SET c = v.c ... FROM unnest(...) v WHERE table.key = v.key`: one
    statement for many rows, each with its own values (`columns` includes `key`).
    `touch`: a timestamp column also set to now() (what an ORM `onupdate` would do)."""
    arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in columns.items())
    sets = ", ".join(
        [f"{name} = v.{name}" for name in columns if name != key]
        + ([f"{touch} = now()"] if touch else [])
    )
    names = ", ".join(columns)
    return text(
        f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS v({names}) "
        f"WHERE {table}.{key} = v.{key}"
    )


def column_arrays(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> dict[str, Any]:
    """The parameters of `unnest_insert`: one list per column."""
    return {name: [row.get(name) for row in rows] for name in columns}
