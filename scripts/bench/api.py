"""Operator API benchmark: list pages over a million events, WebSocket fan-out, cache.

Run through `scripts/bench_api`. Loads `--events` rows into a dedicated database with one
server-side INSERT … SELECT generate_series, starts the API as its own process and prints:
- p50/p99 of filtered event list pages over HTTP (target p99 <= 50 ms);
- commit-to-delivery p50/p99 of `--rate` events/s fanned out to `--clients` WebSocket
  clients (target p99 <= 250 ms);
- a cached catalogue read against an uncached one (target ratio < 0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import secrets
import statistics
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import redis
import websockets
from sqlalchemy import Engine, text

from pipeline.auth.apikeys import create_key
from pipeline.auth.permissions import ALL_SCOPES
from pipeline.cache import Cache
from pipeline.events import queries
from pipeline.live.events import announce_changes
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
INSERT_LIVE = text(
    "INSERT INTO events (source, type, external_id, status, payload, received_at) "
    "SELECT 'stripe', 'payment.succeeded', x, 'processed', '{}'::jsonb, now() "
    "FROM unnest(CAST(:ids AS text[])) AS x"
)
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


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
    with unit_of_work(sessions) as uow:
        for n in range(count):
            translations = {
                lang: {"title": f"Product {n} ({lang})", "description": "A fine thing. " * 20}
                for lang in ("ru", "en", "de", "kk")
            }
            catalog.create(uow.session, {"code": f"p{n}", "price_minor": 1000 + n}, translations)


def _query_ms(engine: Engine, params: dict[str, Any], repeats: int) -> float:
    """p99 of the page query alone, in this process (no HTTP, auth or encoding)."""
    sessions = make_session_factory(engine)
    where = queries.EventFilter(
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
            queries.page(session, where, before_id=cursor, limit=50)
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


async def _clients(
    ws_url: str, key: str, count: int, ready: Any, go_home: Any
) -> list[tuple[str, float]]:
    """`count` subscribed clients in one process; (external id, wall time received)."""
    seen: list[tuple[str, float]] = []
    connections: list[Any] = []

    async def client() -> None:
        async with websockets.connect(
            ws_url, max_size=None, open_timeout=120, compression=None
        ) as ws:
            subscribe = {"type": "subscribe", "token": key, "topics": ["events"]}
            await ws.send(orjson.dumps(subscribe).decode())
            await ws.recv()  # ready
            connections.append(ws)
            if len(connections) == count:
                ready.set()
            async for raw in ws:  # until closed below
                at = time.time()
                message = orjson.loads(raw)
                seen.extend((item["external_id"], at) for item in message.get("items", ()))

    tasks = [asyncio.create_task(client()) for _ in range(count)]
    await asyncio.to_thread(go_home.wait)
    await asyncio.gather(*(ws.close() for ws in connections), return_exceptions=True)
    await asyncio.gather(*tasks, return_exceptions=True)
    return seen


def _client_process(ws_url: str, key: str, count: int, ready: Any, go_home: Any, out: Any) -> None:
    out.put(asyncio.run(_clients(ws_url, key, count, ready, go_home)))


def bench_fanout(
    engine: Engine, ws_url: str, key: str, clients: int, rate: int, seconds: float
) -> dict[str, float]:
    """Clients run in their own processes (a few, each with many connections), so the
    figure is the API's delay, not the client's; wall clocks agree on one machine."""
    sessions = make_session_factory(engine)
    committed: dict[str, float] = {}
    procs_n = min(4, clients)
    context = multiprocessing.get_context("spawn")
    go_home, out = context.Event(), context.Queue()
    readies = [context.Event() for _ in range(procs_n)]
    shares = [clients // procs_n + (i < clients % procs_n) for i in range(procs_n)]
    procs = [
        context.Process(target=_client_process, args=(ws_url, key, n, ready, go_home, out))
        for n, ready in zip(shares, readies, strict=True)
    ]
    for proc in procs:
        proc.start()
    for ready in readies:
        if not ready.wait(180):
            raise SystemExit("WebSocket clients did not connect")
    batch = max(1, rate // 20)  # 20 commits a second
    n, started = 0, time.perf_counter()
    next_at = started
    while time.perf_counter() - started < seconds:
        ids = [f"live-{n + i}" for i in range(batch)]
        with sessions() as session:
            session.execute(INSERT_LIVE, {"ids": ids})
            session.commit()
        at = time.time()
        committed.update((external_id, at) for external_id in ids)
        announce_changes(engine)
        n += batch
        next_at += 1 / 20
        time.sleep(max(0.0, next_at - time.perf_counter()))
    produced_rate = n / (time.perf_counter() - started)
    time.sleep(3)  # the tail
    go_home.set()
    delays = []
    for _ in procs:
        delays += [at - committed[i] for i, at in out.get(timeout=120) if i in committed]
    for proc in procs:
        proc.join(30)
    expected = len(committed) * clients
    return {
        "events_per_s": produced_rate,
        "delivered_share": len(delays) / expected if expected else 0.0,
        "p50_ms": percentile(delays, 0.5) * 1000,
        "p90_ms": percentile(delays, 0.9) * 1000,
        "p99_ms": percentile(delays, 0.99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--api-workers", type=int, default=1, help="API processes.")
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database.")
    args = parser.parse_args()

    server, started_pg = database_url()
    redis_url, started_redis = broker_url()
    url = create_bench_database(server, "api")
    engine = make_engine(url, pool_size=4)
    api: subprocess.Popen[bytes] | None = None
    try:
        print(f"loading {args.events:,} events ...", flush=True)
        print(f"  loaded in {load_events(engine, args.events):.1f} s")
        seed_products(engine, 200)
        with unit_of_work(make_session_factory(engine)) as uow:
            key = create_key(uow.session, "bench", sorted(ALL_SCOPES)).key
        port = free_port()
        api = start_server(
            {"DATABASE_URL": url, "REDIS_URL": redis_url, "BROKER_URL": redis_url,
             "API_JWT_SECRET": secrets.token_urlsafe(48), "API_RATE_LIMIT": "10000000/minute",
             "LOG_LEVEL": "WARNING", "QUEUE_PREFIX": ""},
            port,
            "api.app:app_from_env",
            args.api_workers,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"

        print("\nevent list pages (limit 50), ms: over HTTP p50/p99; the query alone p99")
        print(f"  {'filter':<36} {'p50':>7} {'p99':>7} {'query p99':>10}")
        for label, p50, p99, query in bench_lists(engine, base, key, args.repeats):
            print(f"  {label:<36} {p50:>7.1f} {p99:>7.1f} {query:>10.2f}")

        figures = bench_cache(engine, redis_url, base, key, args.repeats)
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

        print(
            f"\nWebSocket fan-out: {args.clients} clients, {args.rate} events/s "
            f"for {args.seconds:.0f} s ...",
            flush=True,
        )
        fan = bench_fanout(
            engine, f"ws://127.0.0.1:{port}/api/v1/ws", key, args.clients, args.rate, args.seconds
        )
        print(
            f"  produced {fan['events_per_s']:.0f} events/s, delivered {fan['delivered_share']:.1%}"
        )
        spread = ", ".join(f"{q} {fan[q + '_ms']:.1f} ms" for q in ("p50", "p90", "p99"))
        print(f"  commit to delivery: {spread}")
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
