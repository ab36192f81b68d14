"""Migrations match the models, and go down and up again cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from pipeline.migrate import alembic_config, upgrade
from schema import Base
from schema.session import sqlalchemy_url
from tests.support.services import TestServices, create_database, drop_database


def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == [], f"models differ from migrations: {diff}"


def test_downgrade_to_base_and_upgrade_again(services: TestServices) -> None:
    url = create_database(services.admin_database_url)
    try:
        upgrade(url)
        command.downgrade(alembic_config(url), "base")
        upgrade(url)
    finally:
        drop_database(services.admin_database_url, url)
