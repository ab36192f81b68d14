"""CPU cost of the worker's domain path per event, measured in one process.

Timings on a shared 2-core machine swing with whatever else runs; CPU time does not
(much). This runs the path of the `workers.ingest` task in-process — store with dedup,
process (payments settle their own seeded orders: payment rows, order status, receipts
requested, notifications queued), commit, announce — on batches of `--batch` signed
Stripe payments, and prints per event: this process's CPU time (the worker's share) and
the CPU time of the PostgreSQL backends serving it (read from /proc), against the same
rows inserted straight into PostgreSQL by one client (the bench_pipeline baseline) in the
same run. `--profile` prints where the worker's time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psycopg

from pipeline.live.events import announce_changes
from pipeline.logging import setup_logging
from pipeline.redaction import Redactor
from pipeline.settings import Settings
from schema.session import libpq_url
from scripts.bench.common import SECRET, bench_database, broker_url, database_url, exit_on_sigterm
from scripts.bench.pipeline import baseline, envelopes, seed_orders
from workers.runtime import build_worker_runtime

TICKS = os.sysconf("SC_CLK_TCK")


class NoSender:
    """Tasks the path sends (receipts, notifications) are counted, not published."""

    def __init__(self) -> None:
        self.count = 0

    def send(self, name: str, queue: str, *args: object, countdown: float | None = None) -> str:
        self.count += 1
        return "id"

    def send_many(self, name: str, queue: str, arg_lists: Sequence[Sequence[Any]]) -> None:
        self.count += len(arg_lists)


def backend_cpu(url: str) -> float:
    """CPU seconds used so far by the backends connected to the database of `url`."""
    name = url.rsplit("/", 1)[-1].split("?")[0]
    total = 0.0
    with psycopg.connect(libpq_url(url, "postgres"), autocommit=True) as conn:
        pids = [
            row[0]
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        ]
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # not on this machine (a remote server): PostgreSQL's share unknown
        total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def measure(label: str, url: str, run: Callable[[], None], events: int) -> None:
    pg0, cpu0, wall0 = backend_cpu(url), time.process_time(), time.perf_counter()
    run()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    pg = backend_cpu(url) - pg0
    print(
        f"{label:<28}{cpu / events * 1e3:>9.3f}{pg / events * 1e3:>9.3f}"
        f"{(cpu + pg) / events * 1e3:>9.3f}{events / wall:>10.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--without-index",
        action="append",
        default=[],
        metavar="NAME",
        help="drop this index first (what does it cost per event?); repeatable",
    )
    args = parser.parse_args()
    exit_on_sigterm()
    broker, redis_started = broker_url()
    server, pg_started = database_url()
    try:
        with bench_database("cost", server) as url, bench_database("costbase", server) as base:
            seed_orders(url, args.events)
            with psycopg.connect(libpq_url(url), autocommit=True) as conn:
                for index in args.without_index:
                    conn.execute(f'DROP INDEX "{index}"')
            os.environ.update(
                DATABASE_URL=url,
                REDIS_URL=broker,
                STRIPE_WEBHOOK_SECRET=SECRET,
                ALLOW_TEST_PAYMENTS="true",
                FISCAL_REGISTER="atol",
                LOG_LEVEL="WARNING",
            )
            sender = NoSender()
            settings, redactor = Settings(), Redactor()
            setup_logging(settings, "worker", redactor)
            rt = build_worker_runtime(settings, sender, redactor=redactor)
            items = envelopes(args.events, 0.0, "payment_intent.succeeded", orders=True)
            batches = [items[i : i + args.batch] for i in range(0, len(items), args.batch)]
            warm, timed = batches[:3], batches[3:]
            counted = sum(len(b) for b in timed)
            for batch in warm:
                rt.events.ingest(batch)

            def worker() -> None:
                for batch in timed:
                    rt.events.ingest(batch)
                    announce_changes(rt.engine, rt.deps)

            print(f"{'ms per event':<28}{'worker':>9}{'pg':>9}{'total':>9}{'events/s':>10}")
            profiler = cProfile.Profile(time.process_time) if args.profile else None
            if profiler:
                profiler.enable()
            measure("ingest + process + announce", url, worker, counted)
            if profiler:
                profiler.disable()
            rt.close()
            rows = [e for b in timed for e in b]
            base_cpu0 = time.process_time()
            rate = baseline(base, rows, args.batch)
            base_cpu = time.process_time() - base_cpu0
            print(
                f"{'direct insert (baseline)':<28}{base_cpu / counted * 1e3:>9.3f}{'':>9}"
                f"{'':>9}{rate:>10.0f}"
            )
            print(f"{sender.count} tasks sent; batches of {args.batch}, {counted} events timed")
            if profiler:
                stats = pstats.Stats(profiler)
                stats.sort_stats("cumulative").print_stats(r"/(pipeline|schema|workers)/", 60)
                stats.sort_stats("tottime").print_stats(30)
    finally:
        for started_here in (*redis_started, *pg_started):
            started_here.stop()


if __name__ == "__main__":
    main()
