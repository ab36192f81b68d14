"""End-to-end latency: a webhook POSTed to the receiver until its event is `processed`.

A receiver and a worker (2 processes) run against a database of their own. Signed Stripe
payments, each settling an order of its own, are POSTed open-loop at `--rate` per second
for `--seconds` (every event walks the whole path: receiver, broker, store, payments
domain, receipt and notification). A watcher polls the events table every few
milliseconds, by id range, and notes when each event is first seen processed:

- observed: first seen processed - POST sent (an upper bound: it adds the poll interval);
- stamped: events.processed_at - POST sent (the worker's own clock; a lower bound, the
  commit follows it by a few ms).

And where the stamped time goes, by the rows' own stamps: received (the receiver's clock)
to stored (the worker's store transaction began: the publisher's hold, the broker, the
queue, the task's dispatch), and stored to processed (the worker's two transactions).

Target: observed p99 <= 150 ms at 200 events/s sustained.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
from pathlib import Path

import psycopg

from schema.session import libpq_url
from scripts.bench.common import ROOT, exit_on_sigterm
from scripts.bench.stack import percentile, pipeline_stack, post_at_rate

REREAD = 300


class Watcher(threading.Thread):
    """Polls for processed events above the lowest id not yet seen processed."""

    def __init__(self, url: str, interval: float) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.interval = interval
        # external id -> (seen at, received_at, stored_at, processed_at)
        self.seen: dict[str, tuple[float, float, float, float]] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        low = 0
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            while not self.stopping.is_set():
                rows = conn.execute(
                    "SELECT id, external_id, status, extract(epoch FROM received_at), "
                    "extract(epoch FROM stored_at), extract(epoch FROM processed_at) "
                    "FROM events WHERE id >= %s ORDER BY id",
                    (low,),
                ).fetchall()
                now = time.time()
                pending = None
                for event_id, external_id, status, received, stored, processed in rows:
                    if status == "processed":
                        if external_id not in self.seen:
                            stamps = (float(received), float(stored), float(processed))
                            self.seen[external_id] = (now, *stamps)
                    elif pending is None:
                        pending = event_id
                if rows:
                    # Ids are taken at insert and committed in another order: a lower id
                    # can appear after a higher one, so the last REREAD ids are read again.
                    ahead = pending if pending is not None else rows[-1][0] + 1
                    low = max(low, min(ahead, rows[-1][0] + 1 - REREAD))
                time.sleep(self.interval)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0, help="webhooks per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="sustained load")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds not counted")
    parser.add_argument("--poll-ms", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--tree", type=Path, default=ROOT, help="the checkout whose receiver and worker run"
    )
    parser.add_argument(
        "--linger-ms",
        type=float,
        default=None,
        help="the receiver's PUBLISH_LINGER_MAX_S in ms (default: its own default, 50 ms)",
    )
    args = parser.parse_args()
    if args.linger_ms is not None:
        os.environ["PUBLISH_LINGER_MAX_S"] = str(args.linger_ms / 1000)
    exit_on_sigterm()
    total = int(args.rate * (args.warmup + args.seconds))
    print(f"seeding {total} orders, starting receiver and worker …", flush=True)
    with pipeline_stack("latency", total, args.concurrency, args.tree.resolve()) as stack:
        watcher = Watcher(stack.url, args.poll_ms / 1000)
        watcher.start()
        sent: dict[str, float] = {}
        print(
            f"POSTing {args.rate:.0f}/s for {args.warmup:.0f} s warm-up + {args.seconds:.0f} s …",
            flush=True,
        )
        started = time.perf_counter()
        ok, failed = asyncio.run(
            post_at_rate(stack.base, args.rate, args.warmup + args.seconds, 0, sent)
        )
        took = time.perf_counter() - started
        print(f"  sent {ok} ok, {failed} failed in {took:.1f} s; waiting for the last …")
        deadline = time.monotonic() + 60
        while len(watcher.seen) < ok and time.monotonic() < deadline:
            time.sleep(0.2)
        watcher.stopping.set()
        watcher.join(5)
    skip = int(args.rate * args.warmup)
    counted = [f"evt_bench_{n}" for n in range(skip, total) if f"evt_bench_{n}" in watcher.seen]
    observed = [(watcher.seen[e][0] - sent[e]) * 1000 for e in counted]
    stamped = [(watcher.seen[e][3] - sent[e]) * 1000 for e in counted]
    to_store = [(watcher.seen[e][2] - watcher.seen[e][1]) * 1000 for e in counted]
    to_process = [(watcher.seen[e][3] - watcher.seen[e][2]) * 1000 for e in counted]
    missing = total - skip - len(counted)
    achieved = ok / took
    print(
        f"\n{len(counted)} events counted ({missing} not processed in time), "
        f"offered {args.rate:.0f}/s, sent {achieved:.0f}/s ({achieved / args.rate:.2f} of offered)"
    )
    print(f"{'latency ms':<22}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>8}")
    rows = (
        ("observed", observed),
        ("stamped", stamped),
        ("  received → stored", to_store),
        ("  stored → processed", to_process),
    )
    for name, values in rows:
        if values:
            print(
                f"{name:<22}{percentile(values, 0.5):>8.1f}{percentile(values, 0.9):>8.1f}"
                f"{percentile(values, 0.99):>8.1f}{max(values):>8.1f}"
            )
    if observed:
        p99 = percentile(observed, 0.99)
        print(f"observed p99 = {p99:.0f} ms = {p99 / 150:.2f} of the 150 ms target")


if __name__ == "__main__":
    main()
