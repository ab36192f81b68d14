"""Cache-aside in Redis for data read far more often than written (catalogue, provider
status, stats).

All entries of one cache live in one Redis hash, so a write invalidates the whole cache
with one DEL and a read is one HGET. On a miss only one process loads (a short `SET NX`
lock per entry); the others wait for its result for a moment instead of all hitting the
database at once when a popular entry expires (stampede). Hits, misses and the time a
read took are in /metrics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
import redis

from pipeline import metrics
from pipeline.settings import Settings

LOCK_MS = 5000
WAIT_S = 2.0
POLL_S = 0.01


_FILL = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
"""


class Cache:
    def __init__(self, client: redis.Redis, prefix: str, ttl_s: float) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl_ms = max(int(ttl_s * 1000), 1)

    @classmethod
    def of(cls, client: redis.Redis, settings: Settings) -> Cache:
        """The process's cache, as every process names it (the API reads it, any process
        that writes what it holds invalidates it)."""
        return cls(client, settings.queue_prefix, settings.api_cache_ttl_s)

    def _key(self, name: str) -> str:
        return f"{self.prefix}cache:{name}"

    def get(self, name: str, field: str, load: Callable[[], Any]) -> Any:
        """The cached JSON value, or `load()`'s result (cached for the TTL)."""
        return orjson.loads(self.get_bytes(name, field, lambda: orjson.dumps(load())))

    def get_bytes(self, name: str, field: str, load: Callable[[], bytes]) -> bytes:
        """The cached bytes, or `load()`'s. An API answer cached as its encoded body is
        sent as is: no decoding, validation or encoding on a hit."""
        started = time.perf_counter()
        key = self._key(name)
        raw: bytes | None = self.client.hget(key, field)  # type: ignore[assignment]
        if raw is None:
            raw, result = self._fill(key, field, load), "miss"
        else:
            result = "hit"
        metrics.CACHE_REQUESTS.labels(name, result).inc()
        metrics.CACHE_LATENCY.labels(name, result).observe(time.perf_counter() - started)
        return raw

    def _fill(self, key: str, field: str, load: Callable[[], bytes]) -> bytes:
        lock = f"{key}:{field}:lock"
        if not self.client.set(lock, b"1", nx=True, px=LOCK_MS):
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:  # another process is loading it
                time.sleep(POLL_S)
                raw: bytes | None = self.client.hget(key, field)  # type: ignore[assignment]
                if raw is not None:
                    return raw
        try:
            value = load()
            # The TTL counts from the first fill. One script rather than `PEXPIRE ... NX`,
            # which needs Redis 7; the embedded Redis is 6.2.
            self.client.eval(_FILL, 1, key, field, value, self.ttl_ms)
            return value
        finally:
            self.client.delete(lock)

    def invalidate(self, name: str) -> None:
        """After a write commits: the next read loads fresh data."""
        self.client.delete(self._key(name))
