"""Ingest with a big events table, and retention pruning while ingest goes on.

1. Two databases of their own: one kept empty, one filled with `--rows` old processed
   events (default 1 million, raw bodies of `--body-bytes`, processed 60 days ago).
2. Rounds, interleaved: the same `--events` webhooks published and drained by `pipeline
   worker` (2 processes) into the empty table (emptied again each round) and into the
   full one. Ratio full/empty; target >= 0.8.
3. Retention: the raw-body pruning of the retention job (pipeline.events.retention, by
   id ranges, RETENTION_RAW_BODY_DAYS=30) runs over the full table in another
   process while the same ingest runs again; printed: the ingest rate during pruning vs
   before it, the rows pruned per second and the longest batch (how long a batch holds
   its row locks).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg

from pipeline.deps import Deps
from pipeline.events import retention
from schema.session import libpq_url, make_engine, make_session_factory
from scripts.bench.common import (
    ROOT,
    SECRET,
    bench_database,
    broker_url,
    database_url,
    exit_on_sigterm,
)
from scripts.bench.pipeline import drain_rate, envelopes, forget_queues, publish

PRUNE_BATCH = retention.WINDOW  # ids per batch of the retention task


def fill(url: str, rows: int, body_bytes: int, chunk: int = 100_000) -> None:
    """`rows` processed Stripe events, 60 days old, with raw bodies of `body_bytes`,
    announced long ago: their live cursor is set (the trigger that clears it on insert
    is off in this session), or the first worker would stamp a million rows."""
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("SET session_replication_role = replica")
        for start in range(0, rows, chunk):
            size = min(chunk, rows - start)
            conn.execute(
                "INSERT INTO events (source, type, external_id, status, attempts, duplicates, "
                "payload, raw_body, headers, received_at, processed_at, updated_seq) "
                "SELECT 'stripe', 'payment_intent.succeeded', 'evt_old_' || g, 'processed', 1, "
                "0, jsonb_build_object('id', 'evt_old_' || g), "
                "convert_to(rpad('{\"id\":\"evt_old_' || g || '\"}', %s::int, ' '), 'UTF8'), "
                "'{}'::jsonb, now() - interval '60 days', now() - interval '60 days', "
                "nextval('events_updated_seq') "
                "FROM generate_series(%s::bigint, %s::bigint) g",
                (body_bytes, start, start + size - 1),
            )
            conn.commit()
            print(f"  filled {start + size}/{rows}", flush=True)
        conn.execute("ANALYZE events")
        conn.commit()


def max_id(url: str) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
    return int(row[0]) if row else 0


def empty(url: str) -> None:
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("TRUNCATE events CASCADE")  # with its attempts and search texts
        conn.commit()


def ingest_rate(url: str, broker: str, args: argparse.Namespace, tag: str) -> float:
    """Publish `--events` new webhooks and let `pipeline worker` drain them: events/s."""
    prefix = f"bench{uuid.uuid4().hex[:6]}-"
    os.environ["QUEUE_PREFIX"] = prefix
    items = envelopes(args.events, 0.0, args.event_type, tag=tag)
    floor = max_id(url)
    try:
        asyncio.run(publish(items, broker, 32, 200))
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "BROKER_URL": broker,
            "QUEUE_PREFIX": prefix,
            "STRIPE_WEBHOOK_SECRET": SECRET,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
        rate, _ = drain_rate(url, len(items), 0, env, args.concurrency, above_id=floor)
    finally:
        forget_queues(broker, prefix)
    return rate


def prune(url: str) -> None:
    """The retention job (pipeline.events.retention: id ranges of PRUNE_BATCH ids, each its
    own transaction), printing its batches (run as its own process)."""
    engine = make_engine(url, pool_size=1)
    sessions = make_session_factory(engine)
    cutoff = datetime.now(UTC) - timedelta(days=30)
    longest, started, batches = 0.0, time.perf_counter(), 0
    last = [time.perf_counter()]

    def batch_done(last_id: int, pruned: int) -> None:
        nonlocal longest, batches
        now = time.perf_counter()
        took, last[0] = now - last[0], now
        longest = max(longest, took)
        batches += 1
        if batches % 20 == 0:
            print(f"  pruned up to id {last_id} (last batch {took * 1000:.0f} ms)", flush=True)

    total = retention.prune_raw_bodies(
        sessions, Deps.build(), cutoff, window=PRUNE_BATCH, on_batch=batch_done
    )
    elapsed = time.perf_counter() - started
    print(f"PRUNED {total} {elapsed:.1f} {longest * 1000:.0f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="events already stored")
    parser.add_argument("--body-bytes", type=int, default=1536, help="raw body of those")
    parser.add_argument("--events", type=int, default=10_000, help="webhooks per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved empty/full pairs")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--event-type", default="customer.created", help="Stripe type (default: stored only)"
    )
    parser.add_argument("--prune-only-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    exit_on_sigterm()
    if args.prune_only_url:
        prune(args.prune_only_url)
        return

    broker, redis_started = broker_url()
    server, pg_started = database_url()
    try:
        with (
            bench_database("growth_empty", server) as empty_url,
            bench_database("growth_full", server) as full_url,
        ):
            print(f"filling {args.rows} events of {args.body_bytes} bytes …", flush=True)
            started = time.perf_counter()
            fill(full_url, args.rows, args.body_bytes)
            print(f"  filled in {time.perf_counter() - started:.0f} s", flush=True)
            pairs = []
            for n in range(args.rounds):
                empty(empty_url)
                print(f"round {n + 1}: ingest into the empty table …", flush=True)
                on_empty = ingest_rate(empty_url, broker, args, f"e{n}")
                print(f"round {n + 1}: ingest into the full table …", flush=True)
                on_full = ingest_rate(full_url, broker, args, f"f{n}")
                pairs.append((on_empty, on_full))
                print(
                    f"round {n + 1}: empty {on_empty:.0f}/s, full {on_full:.0f}/s, "
                    f"ratio {on_full / on_empty:.2f}",
                    flush=True,
                )
            before = pairs[-1][1]
            print("pruning raw bodies in another process while ingest continues …", flush=True)
            pruner = subprocess.Popen(
                [sys.executable, "-m", "scripts.bench.growth", "--prune-only-url", full_url],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=subprocess.PIPE,
                text=True,
            )
            during = ingest_rate(full_url, broker, args, "p")
            overlapped = pruner.poll() is None
            print(
                f"  ingest during pruning: {during:.0f}/s "
                f"({'pruning still running' if overlapped else 'pruning ended first'})",
                flush=True,
            )
            summary = ""
            assert pruner.stdout is not None
            for line in pruner.stdout:
                print(line.rstrip(), flush=True)
                if line.startswith("PRUNED"):
                    summary = line
            pruner.wait()
    finally:
        for started_server in (*redis_started, *pg_started):
            started_server.stop()
    print(f"\n{args.rows} stored events, {args.events} webhooks per measurement")
    print(f"{'round':<8}{'empty /s':>10}{'full /s':>10}{'full/empty':>12}")
    for n, (on_empty, on_full) in enumerate(pairs, 1):
        print(f"{n:<8}{on_empty:>10.0f}{on_full:>10.0f}{on_full / on_empty:>12.2f}")
    ratios = sorted(f / e for e, f in pairs)
    print(
        f"full/empty: median {ratios[len(ratios) // 2]:.2f}, lowest {ratios[0]:.2f}, "
        f"highest {ratios[-1]:.2f} (target >= 0.80)"
    )
    print(
        f"ingest during pruning {during:.0f}/s vs before {before:.0f}/s: "
        f"ratio {during / before:.2f}"
    )
    if summary:
        _, total, elapsed, longest = summary.split()
        print(
            f"pruned {total} raw bodies in {float(elapsed):.0f} s "
            f"({int(total) / float(elapsed):.0f} rows/s), batches of {PRUNE_BATCH} ids, "
            f"longest batch {longest} ms"
        )


if __name__ == "__main__":
    main()
