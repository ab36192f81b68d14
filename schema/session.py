"""Engine and session factories. Sessions are committed by their caller (task or request)."""

from __future__ import annotations

import time
from typing import Any

from psycopg.types.array import ListBinaryDumper
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker


def sqlalchemy_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and pick the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str, database: str | None = None) -> str:
    """The same server as a plain libpq URL (psycopg, pg_dump), optionally another database."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, pool_size: int = 5, ping_idle_s: float | None = None) -> Engine:
    """`ping_idle_s`: ping a pooled connection at checkout only when it has been idle that
    long, instead of at every checkout (a round trip each). A connection the server lost
    within that time fails its first statement instead, which callers that retry
    transient failures (the workers' tasks) absorb."""
    engine = create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=ping_idle_s is None,
        connect_args={"connect_timeout": 5},
    )
    if ping_idle_s is not None:
        _ping_when_idle(engine, ping_idle_s)
    event.listen(engine.pool, "connect", _arrays_in_binary)
    return engine


def _arrays_in_binary(dbapi_connection: Any, _: Any) -> None:
    """Lists go to PostgreSQL as binary arrays. In text form psycopg escapes every quote
    and backslash of every element with a regular expression: for the batch inserts'
    arrays of JSON payloads (schema.unnest) that was 0.06 ms per payload; binary is
    a copy."""
    dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    def stamp(_: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _: Any) -> None:
        if time.monotonic() - record.info.get(_LAST_USED, 0.0) < idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool replaces it and retries the checkout
            raise DisconnectionError(str(exc)) from exc

    event.listen(engine.pool, "connect", stamp)
    event.listen(engine.pool, "checkin", stamp)
    event.listen(engine.pool, "checkout", checkout)


_LAST_USED = "last_used"


def ping(engine: Engine) -> None:
    """One round trip on a pooled connection; raises when the database cannot answer."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
