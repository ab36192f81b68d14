"""Receiver throughput against a no-op endpoint on the same server, in one run.

Prints req/s, p50 and p99 for: the no-op route (ceiling), the receiver's
`/webhooks/stripe`, and a naive route that calls Celery's `send_task` per request, with
each one's ratio to the no-op figure. The broker is BROKER_URL or an embedded Redis.
"""

from __future__ import annotations

import argparse
import uuid

from kombu import Connection

from adapters.broker.declarations import kombu_queue
from pipeline.messaging.queues import INGEST
from scripts.bench.common import (
    SECRET,
    broker_url,
    free_port,
    start_server,
    stripe_headers,
    stripe_payload,
)
from scripts.bench.load import LoadResult, generator_name, run_load
from webhooks.connections import PROTOCOL


def drain(broker: str, prefix: str) -> int:
    import os

    os.environ["QUEUE_PREFIX"] = prefix
    with Connection(broker) as conn:
        bound = kombu_queue(INGEST)(conn.default_channel)
        count = bound.queue_declare()[1]
        bound.purge()
        bound.delete()
    return int(count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="load per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    broker, started = broker_url()
    prefix = f"bench{uuid.uuid4().hex[:6]}-"
    env = {
        "BROKER_URL": broker,
        "DATABASE_URL": "postgresql://unused@127.0.0.1:1/unused",  # the hot path has none
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "QUEUE_PREFIX": prefix,
        "LOG_LEVEL": "WARNING",
    }
    body = stripe_payload()
    port = free_port()
    # The receiver's own HTTP protocol, as `pipeline receiver` runs it (webhooks.connections).
    server = start_server(env, port, extra=("--http", PROTOCOL))
    base = f"http://127.0.0.1:{port}"
    print(
        f"payload {len(body)} bytes, {args.connections} connections, {args.seconds} s each, "
        f"load by {generator_name()}, broker {broker.split('://')[0]}"
    )
    results: dict[str, LoadResult] = {}
    try:
        for name, path in (
            ("no-op", "/noop"),
            ("receiver", "/webhooks/stripe"),
            ("naive send_task", "/naive/stripe"),
        ):
            run_load(base + path, body, stripe_headers(body), 2, args.connections)  # warm-up
            results[name] = run_load(
                base + path, body, stripe_headers(body), args.seconds, args.connections
            )
            print(f"  {name:<16} done", flush=True)
    finally:
        server.terminate()
        server.wait(10)
        enqueued = drain(broker, prefix)
        for server_ in started:
            server_.stop()
    ceiling = results["no-op"].rps
    print(f"\n{'endpoint':<18}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}{'ratio':>8}")
    for name, r in results.items():
        print(
            f"{name:<18}{r.rps:>10.0f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}{r.errors:>10}"
            f"{r.rps / ceiling:>8.2f}"
        )
    print(f"\nmessages left in the broker by the receiver and naive routes: {enqueued}")
    verdict = results["receiver"].rps / ceiling
    print(
        f"receiver/no-op = {verdict:.2f} (target >= 0.6), "
        f"receiver p99 = {results['receiver'].p99_ms:.1f} ms (target < 25 ms)"
    )


if __name__ == "__main__":
    main()
