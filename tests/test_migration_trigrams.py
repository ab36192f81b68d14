"""The trigram index of event text search: built where pg_trgm can be had; where the
migrating role may not create the extension, the migration still succeeds, the index is
left out and the search keeps working as a scan."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

from pipeline.events import filter_repository
from pipeline.migrate import upgrade
from schema.events import Event
from schema.session import libpq_url, make_engine
from tests.support.services import TestServices, create_database, drop_database

INDEX = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_event_search_texts_body_trgm'"
OLD_INDEX = "SELECT 1 FROM pg_indexes WHERE indexname = 'ix_events_payload_trgm'"


@pytest.fixture
def limited(services: TestServices) -> Iterator[str]:
    """A new database and a role that may create tables but not extensions in it."""
    admin = services.admin_database_url
    url = create_database(admin)
    role = f"limited_{uuid.uuid4().hex[:8]}"
    name = make_url(url).database
    with psycopg.connect(libpq_url(admin), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'limited'")
        conn.execute(f'REVOKE CREATE ON DATABASE "{name}" FROM PUBLIC')
        conn.execute(f'GRANT CONNECT, TEMPORARY ON DATABASE "{name}" TO {role}')
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {role}")
    try:
        yield make_url(url).set(username=role, password="limited").render_as_string(False)
    finally:
        drop_database(admin, url)
        with psycopg.connect(libpq_url(admin), autocommit=True) as conn:
            conn.execute(f"DROP ROLE IF EXISTS {role}")


def test_the_index_serves_text_search(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            assert "gin_trgm_ops" in (conn.execute(text(INDEX)).scalar() or "")
            assert conn.execute(text(OLD_INDEX)).scalar() is None
    finally:
        engine.dispose()


def test_without_the_extension_the_migration_succeeds_and_search_scans(limited: str) -> None:
    upgrade(limited)
    engine = make_engine(limited, pool_size=1)
    try:
        with Session(engine) as session:
            assert session.execute(text(INDEX)).scalar() is None
            session.add(
                Event(source="stripe", type="t", external_id="e1", status="processed",
                      payload={"order": "o-777"}, received_at=datetime.now(UTC))
            )  # fmt: skip
            session.commit()
            rows, _ = filter_repository.page(
                session, filter_repository.EventFilter(text="o-777"), before_id=None, limit=10
            )
            assert [r.external_id for r in rows] == ["e1"]
    finally:
        engine.dispose()


def test_events_stored_before_the_search_table_are_copied_into_it(
    services: TestServices,
) -> None:
    """Upgrading a database that already holds events (0018 -> 0019) copies their texts,
    so search finds old events as before; the index on events is dropped."""
    url = create_database(services.admin_database_url)
    engine = make_engine(url, pool_size=1)
    try:
        upgrade(url, "0018")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO events (source, type, external_id, status, payload, "
                    "received_at) SELECT 'stripe', 't', 'old-' || g, 'processed', "
                    "jsonb_build_object('order', 'o-' || g), now() "
                    "FROM generate_series(1, 50) g"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO events (source, type, external_id, status, received_at) "
                    "VALUES ('stripe', 't', 'no-payload', 'dead', now())"
                )
            )
        upgrade(url)
        with Session(engine) as session:
            count = session.execute(text("SELECT count(*) FROM event_search_texts")).scalar()
            assert count == 50
            rows, _ = filter_repository.page(
                session, filter_repository.EventFilter(text="o-42"), before_id=None, limit=10
            )
            assert [r.external_id for r in rows] == ["old-42"]
            assert session.execute(text(OLD_INDEX)).scalar() is None
    finally:
        engine.dispose()
        drop_database(services.admin_database_url, url)
