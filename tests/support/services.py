"""Real PostgreSQL, Redis and (when reachable) RabbitMQ for the tests.

Given by TEST_DATABASE_URL / TEST_REDIS_URL / TEST_AMQP_URL, or else embedded servers
are started from the project's own dependencies in .pytest-var/.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import psycopg
from sqlalchemy.engine import make_url

from pipeline.embedded import EmbeddedPostgres, EmbeddedRedis
from pipeline.messaging.urls import redis_py_url
from schema.session import libpq_url

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / ".pytest-var"
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672//"


@dataclass
class TestServices:
    __test__ = False  # not a test class

    admin_database_url: str
    redis_url: str  # a broker URL (redis:// or redis+socket://)
    amqp_url: str | None
    embedded: list[EmbeddedPostgres | EmbeddedRedis]

    @property
    def redis_client_url(self) -> str:
        """The Redis server in redis-py's form (`redis+socket://` becomes `unix://`)."""
        return redis_py_url(self.redis_url)


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5672), 1):
            return True
    except OSError:
        return False


def start_services() -> TestServices:
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    admin = os.environ.get("TEST_DATABASE_URL")
    if not admin:
        pg = EmbeddedPostgres(VAR)
        result = pg.start()
        admin = make_url(result.url).set(database="postgres").render_as_string(False)
        if result.started_here:
            started.append(pg)
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        redis = EmbeddedRedis(VAR)
        result = redis.start()
        redis_url = result.url
        if result.started_here:
            started.append(redis)
    amqp = os.environ.get("TEST_AMQP_URL")
    if amqp is None and _reachable(DEFAULT_AMQP):
        amqp = DEFAULT_AMQP
    return TestServices(admin, redis_url, amqp or None, started)


def create_database(admin_url: str) -> str:
    name = f"pipeline_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(False)


def drop_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(libpq_url(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
