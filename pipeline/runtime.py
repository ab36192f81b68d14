"""Which PostgreSQL, broker and Redis this process talks to.

Configured URLs win. Without them, the embedded servers in DATA_DIR are found (when
`pipeline up` already runs them) or started.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.embedded import EmbeddedPostgres, EmbeddedRedis
from pipeline.settings import Settings


@dataclass
class Services:
    database_url: str
    broker_url: str
    redis_url: str
    data_dir: Path
    # Embedded servers this process started (and so should stop when it is done).
    started: list[EmbeddedPostgres | EmbeddedRedis] = field(default_factory=list)
    embedded: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url,
            "BROKER_URL": self.broker_url,
            "REDIS_URL": self.redis_url,
            "DATA_DIR": str(self.data_dir),
        }

    def stop_started(self) -> None:
        for server in reversed(self.started):
            server.stop()
        self.started.clear()


def resolve_services(
    settings: Settings, *, need_broker: bool = True, data_dir: Path | None = None
) -> Services:
    data_dir = (data_dir or settings.data_dir).resolve()
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    embedded: list[str] = []

    database_url = settings.database_url
    if not database_url:
        pg = EmbeddedPostgres(data_dir)
        result = pg.start()
        database_url = result.url
        embedded.append("postgresql")
        if result.started_here:
            started.append(pg)

    broker_url = settings.broker_url or ""
    redis_url = settings.redis_url or ""
    if need_broker and (not broker_url or not redis_url):
        redis = EmbeddedRedis(data_dir)
        result = redis.start()
        embedded.append("redis")
        if result.started_here:
            started.append(redis)
        broker_url = broker_url or result.url
        redis_url = redis_url or redis.client_url()
    return Services(database_url, broker_url, redis_url, data_dir, started, embedded)
