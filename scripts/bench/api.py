"""Operator API benchmark: list pages over a million events, WebSocket fan-out, cache.

Run through `scripts/bench_api`. Loads `--events` rows into a dedicated database with one
server-side INSERT … SELECT generate_series, starts the API as its own process and prints:
- p50/p99 of filtered event list pages over HTTP (target p99 <= 50 ms);
- commit-to-delivery p50/p95/p99 of `--rate` events/s fanned out to `--clients` WebSocket
  clients (target p99 <= 250 ms; how the server alone is measured: scripts/bench/fanout.py);
- a cached catalogue read against an uncached one (target ratio < 0.1).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import redis
from sqlalchemy import Engine, text

from pipeline.auth.apikeys import create_key
from pipeline.auth.permissions import ALL_SCOPES
from pipeline.cache import Cache
from pipeline.deps import Deps
from pipeline.events import filter_repository
from pipeline.messaging.urls import redis_py_url
from pipeline.shop import catalog
from pipeline.unit_of_work import unit_of_work
from schema.session import make_engine, make_session_factory
from scripts.bench.common import (
    broker_url,
    create_bench_database,
    database_url,
    drop_bench_database,
    free_port,
    start_server,
)
from scripts.bench.fanout import bench_fanout, percentile, report

SOURCES = [
    "stripe",
    "yookassa",
    "tbank",
    "cloudpayments",
    "robokassa",
    "telegram",
    "atol",
    "orangedata",
]
HOUR = timedelta(hours=1)
TYPES = ["payment.succeeded", "payment.canceled", "refund.succeeded", "message", "receipt"]

LOAD = text(
    """
    INSERT INTO events (source, type, external_id, status, attempts, duplicates, payload,
                        headers, received_at, stored_at, processed_at, updated_seq)
    SELECT (CAST(:sources AS text[]))[1 + i % 8], (CAST(:types AS text[]))[1 + (i / 8) % 5],
           'ev-' || i,
           CASE WHEN i % 100 = 0 THEN 'dead' WHEN i % 50 = 1 THEN 'failed'
                WHEN i % 10 = 2 THEN 'ignored' ELSE 'processed' END,
           1, 0,
           jsonb_build_object('id', 'ev-' || i, 'order', 'o-' || (i % 50000), 'amount', i % 99991),
           '{"content-type": "application/json"}'::jsonb,
           t, t, t + interval '50 milliseconds', nextval('events_updated_seq')
    FROM generate_series(1, :count) AS i,
         LATERAL (SELECT now() - make_interval(secs => (:count - i) * CAST(:spacing AS float8)))
         AS at(t)
    """
)


def load_events(engine: Engine, count: int) -> float:
    started = time.perf_counter()
    with engine.begin() as conn:
        # A bulk load is not a stream of status changes: stamped directly, not announced.
        conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_mark_changed"))
        spacing = 7 * 86400 / count  # a week of traffic
        conn.execute(LOAD, {"sources": SOURCES, "types": TYPES, "count": count, "spacing": spacing})
        conn.execute(text("ALTER TABLE events ENABLE TRIGGER events_mark_changed"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE events"))
    return time.perf_counter() - started


def seed_products(engine: Engine, count: int) -> None:
    sessions = make_session_factory(engine)
    with unit_of_work(sessions, Deps.build()) as uow:
        for n in range(count):
            translations = {
                lang: {"title": f"Product {n} ({lang})", "description": "A fine thing. " * 20}
                for lang in ("ru", "en", "de", "kk")
            }
            catalog.create(uow.session, {"code": f"p{n}", "price_minor": 1000 + n}, translations)


def _query_ms(engine: Engine, params: dict[str, Any], repeats: int) -> float:
    """p99 of the page query alone, in this process (no HTTP, auth or encoding)."""
    sessions = make_session_factory(engine)
    where = filter_repository.EventFilter(
        params.get("source"), params.get("type"), params.get("status"),
        datetime.fromisoformat(params["since"]) if "since" in params else None,
        datetime.fromisoformat(params["until"]) if "until" in params else None,
        params.get("external_id"),
    )  # fmt: skip
    cursor = int(params["cursor"]) if params.get("cursor") else None
    timings = []
    with sessions() as session:
        for _ in range(repeats):
            started = time.perf_counter()
            filter_repository.page(session, where, before_id=cursor, limit=50)
            timings.append((time.perf_counter() - started) * 1000)
    return percentile(timings, 0.99)


def bench_lists(
    engine: Engine, base: str, key: str, repeats: int
) -> list[tuple[str, float, float, float]]:
    client = httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30)
    middle = datetime.now(UTC) - timedelta(days=3)
    cases: dict[str, dict[str, Any]] = {
        "newest page, no filter": {},
        "source": {"source": "tbank"},
        "status (1% dead)": {"status": "dead"},
        "source + status": {"source": "stripe", "status": "failed"},
        "type": {"type": "refund.succeeded"},
        "external id": {"external_id": "ev-424242"},
        "one hour window": {"since": middle.isoformat(), "until": (middle + HOUR).isoformat()},
    }  # fmt: skip
    cursor = None
    for _ in range(20):  # 20 pages deep into tbank events
        page = client.get(
            "/api/v1/events", params={"source": "tbank", **({"cursor": cursor} if cursor else {})}
        )
        cursor = page.json()["next_cursor"]
    cases["source, page 21 by cursor"] = {"source": "tbank", "cursor": cursor}
    results = []
    for label, params in cases.items():
        timings = []
        for n in range(repeats + 10):
            started = time.perf_counter()
            answer = client.get("/api/v1/events", params={"limit": 50, **params})
            elapsed = time.perf_counter() - started
            assert answer.status_code == 200, answer.text
            if n >= 10:  # warm-up
                timings.append(elapsed * 1000)
        query_p99 = _query_ms(engine, params, repeats)
        results.append((label, percentile(timings, 0.5), percentile(timings, 0.99), query_p99))
    text_timings = []
    for n in range(5):
        started = time.perf_counter()
        client.get("/api/v1/events", params={"q": f"o-{4242 + n}", "source": "stripe"})
        text_timings.append((time.perf_counter() - started) * 1000)
    label = "text in payload (trigram index)"
    results.append((label, percentile(text_timings, 0.5), max(text_timings), float("nan")))
    return results


def bench_cache(
    engine: Engine, redis_url: str, base: str, key: str, repeats: int
) -> dict[str, float]:
    sessions = make_session_factory(engine)
    cache = Cache(redis.Redis.from_url(redis_url), f"bench{secrets.token_hex(3)}-", ttl_s=600)

    def load() -> list[dict[str, Any]]:
        with sessions() as session:
            return catalog.list_products(session, include_inactive=False)

    def timed(fn: Callable[[], Any]) -> float:
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - started)
        return statistics.median(samples) * 1000

    uncached = timed(load)
    cache.get(catalog.CACHE, "all:False", load)
    cached = timed(lambda: cache.get(catalog.CACHE, "all:False", load))
    client = httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30)
    http_cached = timed(lambda: client.get("/api/v1/products"))
    api_cache = Cache(redis.Redis.from_url(redis_url), "", ttl_s=600)  # the API's (no prefix)

    def miss() -> None:
        api_cache.invalidate(catalog.CACHE)
        client.get("/api/v1/products")

    http_uncached = timed(miss)
    return {"uncached_ms": uncached, "cached_ms": cached, "http_cached_ms": http_cached,
            "http_uncached_ms": http_uncached}  # fmt: skip


def print_cache(figures: dict[str, float]) -> None:
    ratio = figures["cached_ms"] / figures["uncached_ms"]
    http_ratio = figures["http_cached_ms"] / figures["http_uncached_ms"]
    print("\ncatalogue (200 products, 4 languages), median ms:")
    f = figures
    read = f"uncached {f['uncached_ms']:.2f}, cached {f['cached_ms']:.2f}"
    print(f"  read: {read}, ratio {ratio:.3f}")
    print(
        f"  over HTTP: uncached {f['http_uncached_ms']:.2f}, "
        f"cached {f['http_cached_ms']:.2f}, ratio {http_ratio:.3f}"
    )


def load_average() -> str:
    """The 1/5/15-minute load: the figures mean little without it on a shared host."""
    with open("/proc/loadavg") as loadavg:
        return " ".join(loadavg.read().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--api-workers", type=int, default=1, help="API processes.")
    parser.add_argument("--client-procs", type=int, default=4, help="Processes of WS clients.")
    parser.add_argument("--ws", default="auto", help="uvicorn's WebSocket implementation.")
    parser.add_argument(
        "--parts", default="lists,cache,fanout", help="Comma-separated: lists, cache, fanout."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database.")
    args = parser.parse_args()
    parts = set(args.parts.split(","))

    server, started_pg = database_url()
    redis_url, started_redis = broker_url()
    redis_url = redis_py_url(redis_url)  # an embedded Redis is `redis+socket://`
    # This process announces the changes it commits (pipeline.live) to the API's Redis.
    os.environ.update({"REDIS_URL": redis_url, "QUEUE_PREFIX": ""})
    url = create_bench_database(server, "api")
    engine = make_engine(url, pool_size=4)
    api: subprocess.Popen[bytes] | None = None
    try:
        if "lists" in parts:
            print(f"loading {args.events:,} events ...", flush=True)
            print(f"  loaded in {load_events(engine, args.events):.1f} s")
        seed_products(engine, 200)
        with unit_of_work(make_session_factory(engine), Deps.build()) as uow:
            key = create_key(uow.session, "bench", sorted(ALL_SCOPES)).key
        port = free_port()
        api = start_server(
            {"DATABASE_URL": url, "REDIS_URL": redis_url, "BROKER_URL": redis_url,
             "API_JWT_SECRET": secrets.token_urlsafe(48), "API_RATE_LIMIT": "10000000/minute",
             "LOG_LEVEL": "WARNING", "QUEUE_PREFIX": ""},
            port,
            "api.app:app_from_env",
            args.api_workers,
            ["--ws", args.ws],
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"

        if "lists" in parts:
            print("\nevent list pages (limit 50), ms: over HTTP p50/p99; the query alone p99")
            print(f"  {'filter':<36} {'p50':>7} {'p99':>7} {'query p99':>10}")
            for label, p50, p99, query in bench_lists(engine, base, key, args.repeats):
                print(f"  {label:<36} {p50:>7.1f} {p99:>7.1f} {query:>10.2f}")

        if "cache" in parts:
            print_cache(bench_cache(engine, redis_url, base, key, args.repeats))

        if "fanout" in parts:
            print(
                f"\nWebSocket fan-out: {args.clients} clients in {args.client_procs} processes, "
                f"{args.rate} events/s for {args.seconds:.0f} s, {args.api_workers} API "
                f"process(es), uvicorn --ws {args.ws}; load average {load_average()} ...",
                flush=True,
            )
            report(
                bench_fanout(
                    engine, "127.0.0.1", port, key, args.clients, args.rate, args.seconds,
                    args.client_procs, api.pid,
                )
            )  # fmt: skip
            print(f"  load average after: {load_average()}")
    finally:
        if api is not None:
            api.terminate()
            api.wait(10)
        engine.dispose()
        if not args.keep:
            drop_bench_database(url)
        for server_process in started_redis:
            server_process.stop()
        for pg in started_pg:
            pg.stop()


if __name__ == "__main__":
    main()
