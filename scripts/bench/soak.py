"""Memory under sustained load: receiver and worker RSS at start and after a soak.

A receiver and a worker (2 processes) run against a database of their own; signed
Stripe payments, each settling its own seeded order, are POSTed open-loop at `--rate`
per second for `--minutes`. RSS (each process with its children) is printed after a
warm-up (the start figure: imports, pools and caches are loaded by then), at every
`--every` seconds and at the end. Target: growth <= 10 % for each.

Beat runs beside them (unless `--no-beat`), its maintenance tasks on the same worker, as
in `pipeline up`: the table upkeep among them vacuums when the server's autovacuum is
off, which decides whether the workers keep up for minutes. The server's setting and
the dead rows left in the busiest tables are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import psycopg

from schema.session import libpq_url
from scripts.bench.common import exit_on_sigterm
from scripts.bench.stack import Stack, pipeline_stack, post_at_rate, rss_mb


def memory(stack: Stack) -> dict[str, float]:
    return {role: rss_mb(p.pid) for role, p in stack.processes.items()}


def autovacuum(url: str) -> str:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute("SHOW autovacuum").fetchone()
    return str(row[0]) if row else "?"


def dead_rows(url: str) -> str:
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT relname, n_dead_tup, n_live_tup, vacuum_count + autovacuum_count "
            "FROM pg_stat_user_tables WHERE relname IN ('events', 'orders', 'payments') "
            "ORDER BY relname"
        ).fetchall()
    return ", ".join(
        f"{name} {dead} dead / {live} live ({runs} vacuums)" for name, dead, live, runs in rows
    )


def processed(url: str) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute("SELECT count(*) FROM events WHERE status = 'processed'").fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=300.0, help="webhooks per second")
    parser.add_argument("--minutes", type=float, default=10.0, help="soak length")
    parser.add_argument(
        "--warmup", type=float, default=30.0, help="seconds before the start figure"
    )
    parser.add_argument("--every", type=float, default=30.0, help="seconds between figures")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--beat", action=argparse.BooleanOptionalAction, default=True, help="run beat too"
    )
    args = parser.parse_args()
    exit_on_sigterm()
    seconds = args.minutes * 60
    total = int(args.rate * (args.warmup + seconds)) + 1
    print(f"seeding {total} orders, starting receiver and worker …", flush=True)
    with pipeline_stack("soak", total, args.concurrency, beat=args.beat) as stack:
        print(f"PostgreSQL autovacuum: {autovacuum(stack.url)}; beat: {args.beat}", flush=True)
        launched = memory(stack)
        print("RSS at launch: " + ", ".join(f"{r} {mb:.0f} MiB" for r, mb in launched.items()))
        asyncio.run(post_at_rate(stack.base, args.rate, args.warmup))
        start = memory(stack)
        print(
            f"RSS after {args.warmup:.0f} s warm-up (start): "
            + ", ".join(f"{r} {mb:.0f} MiB" for r, mb in start.items()),
            flush=True,
        )
        sent = int(args.rate * args.warmup)
        began = time.perf_counter()
        failed = 0
        while (elapsed := time.perf_counter() - began) < seconds:
            chunk = min(args.every, seconds - elapsed)
            ok, bad = asyncio.run(post_at_rate(stack.base, args.rate, chunk, sent))
            sent += ok + bad
            failed += bad
            now = memory(stack)
            print(
                f"  {time.perf_counter() - began:>5.0f} s: sent {sent}, failed {failed}, "
                f"processed {processed(stack.url)}, "
                + ", ".join(f"{r} {mb:.0f} MiB ({mb / start[r]:.2f}x)" for r, mb in now.items()),
                flush=True,
            )
        end = memory(stack)
        done = processed(stack.url)
        print(f"tables at the end: {dead_rows(stack.url)}")
    print(f"\nsoak of {seconds / 60:.1f} min at {args.rate:.0f}/s: {sent} sent, {done} processed")
    print(f"{'process':<10}{'launch MiB':>12}{'start MiB':>11}{'end MiB':>9}{'growth':>8}")
    for role in start:
        growth = end[role] / start[role] - 1
        print(
            f"{role:<10}{launched[role]:>12.0f}{start[role]:>11.0f}{end[role]:>9.0f}{growth:>8.1%}"
        )
    print("target: growth <= 10 % for each")


if __name__ == "__main__":
    main()
