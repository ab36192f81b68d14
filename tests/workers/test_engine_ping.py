"""The workers' engine pings a pooled connection only after it sat idle, and still
replaces one the server dropped while it was idle."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from schema.session import make_engine


def test_a_busy_connection_is_not_pinged_an_idle_one_is(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for idle_s, pings_expected in ((60.0, 0), (0.0, 4)):
        engine = make_engine(database_url, pool_size=1, ping_idle_s=idle_s)
        pings: list[int] = []
        ping = engine.dialect.do_ping

        def counted(dbapi_connection: Any, ping: Any = ping, pings: list[int] = pings) -> bool:
            pings.append(1)
            return bool(ping(dbapi_connection))

        monkeypatch.setattr(engine.dialect, "do_ping", counted)
        for _ in range(4):
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        engine.dispose()
        assert len(pings) == pings_expected


def test_a_connection_dropped_while_idle_is_replaced_at_checkout(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1, ping_idle_s=0.0)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    killer = make_engine(database_url, pool_size=1)
    with killer.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    engine.dispose()
