"""Migrations are safe for a rolling deploy (docs/deployment/migrations.md): while a
migration is applied, and after a rollback of the code, the previous release still runs
against the new schema. For each revision: upgrade to its predecessor, capture that
schema as the previous release's models, write and read a row of every table through
them, apply the revision, then do the same again with the previous models on the new
schema. A dropped or renamed table or column, or a new required column without a default,
fails here."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Engine,
    MetaData,
    Numeric,
    String,
    Text,
    create_engine,
    insert,
    inspect,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, NoSuchTableError
from sqlalchemy.types import Integer, TypeEngine

from pipeline.migrate import alembic_config, upgrade
from schema.session import sqlalchemy_url
from tests.support.services import TestServices, create_database, drop_database

# Contract steps (docs/deployment/migrations.md): revisions allowed to break the previous
# release, because the release before them stopped using what they remove.
CONTRACT_STEPS: frozenset[str] = frozenset()
IN_LIST = re.compile(r"\(?(\w+)\)?(?:::\w+)?\s+(?:IN|=\s*ANY)\s*\(+\s*(?:ARRAY\[)?'([^']+)'")


def revisions() -> list[tuple[str | None, str]]:
    """(predecessor, revision) pairs from the first migration to head."""
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused/db"))
    chain = [rev.revision for rev in script.walk_revisions()][::-1]
    return list(zip([None, *chain[:-1]], chain, strict=True))


@pytest.fixture
def fresh_database(services: TestServices) -> Iterator[tuple[str, Engine]]:
    url = create_database(services.admin_database_url)
    engine = create_engine(sqlalchemy_url(url))
    try:
        yield url, engine
    finally:
        engine.dispose()
        drop_database(services.admin_database_url, url)


def allowed_values(conn: Connection, table: str) -> dict[str, str]:
    """The first value a `col IN (...)` check constraint allows, per column."""
    values: dict[str, str] = {}
    for check in inspect(conn).get_check_constraints(table):
        found = IN_LIST.search(check["sqltext"])
        if found:
            values.setdefault(found.group(1), found.group(2))
    return values


def sample(kind: TypeEngine[Any], serial: int) -> Any:
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, DateTime):
        return datetime.now(UTC)
    if isinstance(kind, Date):
        return datetime.now(UTC).date()
    if isinstance(kind, JSON | JSONB):
        return {}
    if isinstance(kind, ARRAY):
        return []
    if isinstance(kind, Integer | Numeric):
        return serial
    if isinstance(kind, String | Text):
        length = getattr(kind, "length", None) or 32
        return f"r{serial}-{uuid.uuid4().hex}"[:length]
    raise AssertionError(f"no sample value for {kind!r}: extend sample()")


def write_and_read(conn: Connection, models: MetaData, serial: int) -> None:
    """What the previous release does: insert a row into every table through its own
    models (required columns only) and read every table with its own column list."""
    inserted: dict[str, dict[str, Any]] = {}
    for table in models.sorted_tables:
        checks = allowed_values(conn, table.name)
        row: dict[str, Any] = {}
        for column in table.columns:
            # Serial keys show as a nextval() default, identity ones as `identity`.
            if column.nullable or column.server_default is not None or column.identity:
                continue
            foreign = next(iter(column.foreign_keys), None)
            if foreign is not None:
                row[column.name] = inserted[foreign.column.table.name][foreign.column.name]
            elif column.name in checks:
                row[column.name] = checks[column.name]
            else:
                row[column.name] = sample(column.type, serial)
        result = conn.execute(insert(table).values(row).returning(*table.columns))
        inserted[table.name] = dict(result.mappings().one())
    for table in models.sorted_tables:
        rows = conn.execute(select(*table.columns)).all()
        assert rows, f"{table.name}: the previous release's rows are gone"


def reflect(engine: Engine) -> MetaData:
    models = MetaData()
    models.reflect(engine)
    if "alembic_version" in models.tables:
        models.remove(models.tables["alembic_version"])
    return models


@pytest.mark.parametrize(("previous", "revision"), revisions(), ids=lambda r: str(r))
def test_previous_release_runs_on_the_migrated_schema(
    previous: str | None, revision: str, fresh_database: tuple[str, Engine]
) -> None:
    url, engine = fresh_database
    if previous is not None:
        upgrade(url, previous)
    models = reflect(engine)  # the previous release's view of the database
    with engine.begin() as conn:
        write_and_read(conn, models, serial=1)
    upgrade(url, revision)
    if revision in CONTRACT_STEPS:
        with pytest.raises((DBAPIError, NoSuchTableError)), engine.begin() as conn:
            write_and_read(conn, models, serial=2)
        return
    with engine.begin() as conn:
        write_and_read(conn, models, serial=2)
    after = reflect(engine)
    for table in models.sorted_tables:
        kept = {c.name for c in after.tables[table.name].columns}
        assert {c.name for c in table.columns} <= kept, f"{revision} dropped columns of {table}"


def test_every_revision_is_checked() -> None:
    assert [rev for _, rev in revisions()][:4] == ["0001", "0002", "0003", "0004"]


@pytest.mark.parametrize(
    "change",
    [
        # A new required column without a default: the previous release cannot insert.
        "ALTER TABLE products ADD COLUMN sku text NOT NULL DEFAULT 'x';"
        " ALTER TABLE products ALTER COLUMN sku DROP DEFAULT",
        # A rename (or a drop): the previous release cannot read.
        "ALTER TABLE users RENAME COLUMN language TO locale",
        "DROP TABLE broadcasts",
    ],
)
def test_a_breaking_change_is_caught(change: str, fresh_database: tuple[str, Engine]) -> None:
    url, engine = fresh_database
    upgrade(url)
    models = reflect(engine)
    with engine.begin() as conn:
        write_and_read(conn, models, serial=1)
        for statement in change.split(";"):
            conn.exec_driver_sql(statement)
    with pytest.raises((DBAPIError, NoSuchTableError)), engine.begin() as conn:
        write_and_read(conn, models, serial=2)
