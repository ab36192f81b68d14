"""How fast workers drain webhooks into PostgreSQL (with dedup), in one run.

1. A fresh database is migrated and N signed Stripe webhooks (a share of them repeated)
   are published the way the receiver publishes them: `--submitters` concurrent
   requests through the same batching publisher, so messages carry what a loaded
   receiver would put in them.
2. `pipeline worker` starts and drains the queue; the rate is measured from the
   database itself: unique events / (last processed_at - first stored_at).
3. Baseline, same run: the same rows (the same parsed payloads) inserted straight into
   PostgreSQL by one client with the same INSERT ... ON CONFLICT statement, in the same
   batch sizes. (Until December 2026 the baseline stored a one-key payload instead of
   the webhook's, which spared it most of the JSON and the search-text trigger's work.)

Scenarios: an ignored event type (storing and dedup alone); payments naming no order of
ours (payment rows only); payments that settle their own seeded order (payment rows,
order status, a receipt requested and a notification queued per payment). `--rounds`
repeats them interleaved, since the machine is shared and single figures are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from adapters.broker.batching import BatchingPublisher
from adapters.broker.publisher import make_sender
from pipeline.envelope import Envelope
from pipeline.events import repository
from pipeline.events.storing import event_row
from schema.session import libpq_url, make_engine, make_session_factory
from scripts.bench.common import (
    ROOT,
    SECRET,
    broker_url,
    create_bench_database,
    database_url,
    drop_bench_database,
    exit_on_sigterm,
    stripe_payload,
)


def envelopes(
    count: int, duplicate_share: float, event_type: str, orders: bool = False, tag: str = "bench"
) -> list[Envelope]:
    unique = int(count * (1 - duplicate_share))
    now = datetime.now(UTC)
    out = []
    for i in range(count):
        event_id = f"evt_{tag}_{i % unique}"
        order_id = f"bench-{i % unique}" if orders else "1001"
        body = stripe_payload(event_id, event_type=event_type, order_id=order_id)
        out.append(Envelope("stripe", event_id, event_type, body, now, {}, ""))
    return out


async def publish(
    items: list[Envelope], broker: str, submitters: int, max_batch: int
) -> tuple[float, float]:
    publisher = BatchingPublisher(make_sender(broker, timeout=5.0), max_batch=max_batch)
    queue: asyncio.Queue[Envelope] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    done = 0

    async def submitter() -> None:
        nonlocal done
        while not queue.empty():
            env = queue.get_nowait()
            await publisher.submit(env.to_message(), len(env.body), 30.0)
            done += 1
            if done % 5000 == 0:
                print(f"  published {done}/{len(items)}", flush=True)

    started = time.perf_counter()
    await asyncio.gather(*(submitter() for _ in range(submitters)))
    elapsed = time.perf_counter() - started
    await publisher.close()
    return elapsed, publisher.envelopes_sent / max(1, publisher.messages_sent)


def seed_orders(url: str, count: int) -> None:
    """One buyer and one open Stripe order per payment (`bench-<n>`, the payload's amount)."""
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute(
            "INSERT INTO users (telegram_id, chat_id, language) "
            "SELECT g, g, 'en' FROM generate_series(1, %s::bigint) g",
            (count,),
        )
        conn.execute(
            "INSERT INTO products (code, title_ru, title_en, price_minor) "
            "VALUES ('bench', 'bench', 'bench', 129900)"
        )
        conn.execute(
            "INSERT INTO orders (public_id, user_id, product_id, amount_minor, currency, "
            "payment_method) SELECT 'bench-' || (u.telegram_id - 1), u.id, p.id, 129900, "
            "'RUB', 'stripe' FROM users u, products p"
        )


def settled(url: str) -> tuple[int, int, int]:
    """Orders paid, receipts requested, notifications queued."""
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM orders WHERE status = 'paid'), "
            "(SELECT count(*) FROM receipts), (SELECT count(*) FROM notifications)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def forget_queues(broker: str, prefix: str) -> None:
    """The receipts and notifications tasks the run queued: nobody consumes them here."""
    if not broker.startswith("redis"):
        return
    import redis

    from pipeline.messaging.urls import redis_py_url

    client = redis.Redis.from_url(redis_py_url(broker))
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def drain_rate(
    url: str,
    unique: int,
    repeats: int,
    worker_env: dict[str, str],
    concurrency: int,
    above_id: int = 0,
    tree: Path = ROOT,
) -> tuple[float, int]:
    """Start a worker and wait until it drained the queue; counts only events with an id
    above `above_id` (rows already in the table are not part of the run)."""
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "worker",
            "--queues",
            "ingest",
            f"--concurrency={concurrency}",
            "--metrics-port",
            "0",
        ],
        env={**worker_env, "PYTHONPATH": str(tree)},
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with psycopg.connect(libpq_url(url)) as conn:
            last = -1
            while True:
                done, dups = conn.execute(
                    "SELECT count(*) FILTER (WHERE status IN ('processed', 'ignored')), "
                    "coalesce(sum(duplicates), 0) FROM events WHERE id > %s",
                    (above_id,),
                ).fetchone()  # type: ignore[misc]
                conn.commit()
                if done != last and done:
                    print(f"  processed {done}/{unique}", flush=True)
                    last = done
                if done >= unique and dups >= repeats:
                    break
                if worker.poll() is not None:
                    raise SystemExit("the worker exited early")
                time.sleep(0.5)
            first, last_at, dups = conn.execute(
                "SELECT min(stored_at), max(processed_at), sum(duplicates) FROM events "
                "WHERE id > %s",
                (above_id,),
            ).fetchone()  # type: ignore[misc]
    finally:
        worker.terminate()
        worker.wait(30)
    return unique / (last_at - first).total_seconds(), int(dups)


def baseline(url: str, items: list[Envelope], batch: int) -> float:
    """The same rows, payloads parsed as the worker parses them, built before the clock
    starts: only PostgreSQL's work (the insert, its indexes and the search-text trigger)
    is timed."""
    engine = make_engine(url, pool_size=1)
    sessions = make_session_factory(engine)
    batches = []
    for i in range(0, len(items), batch):
        chunk = {(e.provider, e.external_id): e for e in items[i : i + batch]}
        batches.append([event_row(e, json.loads(e.body), 0) for e in chunk.values()])
    started = time.perf_counter()
    for rows in batches:
        with sessions() as session:
            repository.store(session, rows)
            session.commit()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return len({e.external_id for e in items}) / elapsed


SCENARIOS = (
    # (label, Stripe event type, seed orders): an ignored type measures storing and
    # deduplicating alone; a payment type adds the payments domain (state machine, rows);
    # with seeded orders each payment also settles its order, requests a receipt and
    # queues the buyer's notification.
    ("store + dedup", "customer.created", False),
    ("payments, no order", "payment_intent.succeeded", False),
    ("payments settle orders", "payment_intent.succeeded", True),
)


@dataclass
class Outcome:
    label: str
    publish_s: float
    per_message: float
    rate: float
    dups: int
    direct: float
    effects: str = ""


def run(
    args: argparse.Namespace,
    scenario: tuple[str, str, bool],
    broker: str,
    server: str,
    tree: Path = ROOT,
) -> Outcome:
    label, event_type, orders = scenario
    if tree != ROOT:
        label = f"{label} [{tree.name}]"
    url = create_bench_database(server, "pipeline")
    base_url = create_bench_database(server, "pipeline_direct")
    prefix = f"bench{uuid.uuid4().hex[:6]}-"
    os.environ["QUEUE_PREFIX"] = prefix
    items = envelopes(args.events, args.duplicates, event_type, orders)
    unique = len({e.external_id for e in items})
    effects = ""
    try:
        if orders:
            seed_orders(url, unique)
        print(
            f"[{label}] publishing {len(items)} webhooks ({unique} unique) with "
            f"{args.submitters} concurrent submitters …",
            flush=True,
        )
        publish_s, per_message = asyncio.run(
            publish(items, broker, args.submitters, args.max_batch)
        )
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "BROKER_URL": broker,
            "QUEUE_PREFIX": prefix,
            "STRIPE_WEBHOOK_SECRET": SECRET,
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            # The payload is Stripe test mode; receipts go to a register (never called).
            "ALLOW_TEST_PAYMENTS": "true",
            "FISCAL_REGISTER": "atol",
        }
        print(f"[{label}] draining with `pipeline worker` …", flush=True)
        rate, dups = drain_rate(url, unique, len(items) - unique, env, args.concurrency, tree=tree)
        if orders:
            paid, receipts, notes = settled(url)
            effects = f"{paid} paid, {receipts} receipts, {notes} notifications"
            print(f"[{label}] {effects}", flush=True)
        print(f"[{label}] baseline: the same rows straight into PostgreSQL …", flush=True)
        direct = baseline(base_url, items, max(1, round(per_message)))
    finally:
        drop_bench_database(url)
        drop_bench_database(base_url)
        forget_queues(broker, prefix)
    return Outcome(label, publish_s, per_message, rate, dups, direct, effects)


def report(title: str, outcomes: list[Outcome]) -> None:
    print(f"\n{title}")
    print(
        f"{'scenario':<32}{'webhooks/msg':>13}{'events/s':>10}{'dups':>7}"
        f"{'direct rows/s':>15}{'ratio':>7}"
    )
    for o in outcomes:
        print(
            f"{o.label:<32}{o.per_message:>13.1f}{o.rate:>10.0f}{o.dups:>7}"
            f"{o.direct:>15.0f}{o.rate / o.direct:>7.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--duplicates", type=float, default=0.1, help="share of repeats")
    parser.add_argument("--submitters", type=int, default=32, help="concurrent requests")
    parser.add_argument("--max-batch", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved repeats")
    parser.add_argument("--only", default="", help="comma-separated scenario labels (default: all)")
    parser.add_argument(
        "--compare-tree",
        type=Path,
        default=None,
        help="another checkout (e.g. of main): each scenario also runs its worker, first",
    )
    args = parser.parse_args()
    exit_on_sigterm()
    trees = [args.compare_tree.resolve(), ROOT] if args.compare_tree else [ROOT]
    wanted = {w.strip() for w in args.only.split(",") if w.strip()}
    scenarios = [s for s in SCENARIOS if not wanted or s[0] in wanted]

    broker, redis_started = broker_url()
    server, pg_started = database_url()
    rounds: list[list[Outcome]] = []
    try:
        for n in range(args.rounds):
            rounds.append([run(args, s, broker, server, tree) for s in scenarios for tree in trees])
            report(f"round {n + 1}/{args.rounds}", rounds[-1])
    finally:
        for started in (*redis_started, *pg_started):
            started.stop()
    print(
        f"\n{args.events} webhooks per scenario ({args.duplicates:.0%} repeats), "
        f"{args.concurrency} worker processes; target >= 1000 events/s"
    )
    medians = []
    for i in range(len(rounds[0])):
        runs = sorted((r[i] for r in rounds), key=lambda o: o.rate / o.direct)
        medians.append(runs[len(runs) // 2])
    report(f"median of {args.rounds} round(s), by ratio to the direct baseline", medians)


if __name__ == "__main__":
    main()
