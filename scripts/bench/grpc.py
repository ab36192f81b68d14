"""gRPC SubmitEvents against the HTTP receiver, same machine, same broker, one run.

Prints accepted events per second and latency (p50/p99 of a call) for: the receiver's
`/webhooks/stripe` (one event per request), gRPC `SubmitEvent` (one event per call) and
gRPC `SubmitEvents` (a client stream of `--batch` events per call). Every figure counts
events the broker accepted. Broker: BROKER_URL or an embedded Redis; database (API keys
only): DATABASE_URL or an embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import grpc

from grpc_api.v1 import pipeline_pb2 as pb
from grpc_api.v1.pipeline_pb2_grpc import PipelineServiceStub
from pipeline.auth import apikeys
from pipeline.deps import Deps
from pipeline.migrate import upgrade
from pipeline.unit_of_work import unit_of_work
from schema.session import make_engine, make_session_factory
from scripts.bench.common import (
    ROOT,
    SECRET,
    broker_url,
    database_url,
    free_port,
    start_server,
    stripe_headers,
    stripe_payload,
)
from scripts.bench.load import generator_name, run_load
from scripts.bench.receiver import drain
from webhooks.connections import PROTOCOL


@dataclass
class Figures:
    events: int
    calls: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def eps(self) -> float:
        return self.events / self.seconds


def api_key(database: str) -> str:
    upgrade(database)
    engine = make_engine(database, pool_size=1)
    try:
        with unit_of_work(make_session_factory(engine), Deps.build()) as uow:
            return apikeys.create_key(uow.session, "bench-grpc", ["events:write"]).key
    finally:
        engine.dispose()


def start_grpc(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "grpc", "--port", str(port)],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            try:
                grpc.channel_ready_future(channel).result(timeout=1)
                return process
            except grpc.FutureTimeoutError:
                continue
    process.kill()
    raise SystemExit("the gRPC server did not start")


def request(body: bytes, n: int) -> pb.SubmitEventRequest:
    return pb.SubmitEventRequest(
        source="bench", external_id=f"e{n}", type="payment.succeeded", payload=body
    )


@dataclass
class Raw:
    events: int
    errors: int
    seconds: float
    latencies: list[float]


async def load(
    call: Callable[[PipelineServiceStub, int], Awaitable[int]],
    target: str,
    seconds: float,
    streams: int,
    offset: int,
) -> Raw:
    latencies: list[float] = []
    counted = [0, 0]  # events, errors

    async def client(stub: PipelineServiceStub, until: float, first: int) -> None:
        n = first
        while time.perf_counter() < until:
            started = time.perf_counter()
            try:
                accepted = await call(stub, n)  # awaited before the sum is read
                counted[0] += accepted
            except grpc.aio.AioRpcError:
                counted[1] += 1
            latencies.append(time.perf_counter() - started)
            n += 1_000_000

    async with grpc.aio.insecure_channel(target) as channel:
        stub = PipelineServiceStub(channel)  # type: ignore[no-untyped-call]  # generated, unannotated
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(client(stub, until, offset + i) for i in range(streams)))
        elapsed = time.perf_counter() - started
    return Raw(counted[0], counted[1], elapsed, latencies)


def client_process(
    kind: str, target: str, key: str, body: bytes, seconds: float, streams: int, batch: int,
    offset: int,
) -> Raw:  # fmt: skip
    """One load-generating process (a Python gRPC client tops out below the server)."""
    metadata = (("x-api-key", key),)

    async def unary(stub: PipelineServiceStub, n: int) -> int:
        await stub.SubmitEvent(request(body, n), metadata=metadata, timeout=10)
        return 1

    async def streamed(stub: PipelineServiceStub, n: int) -> int:
        events = [request(body, n * batch + i) for i in range(batch)]
        answer = await stub.SubmitEvents(iter(events), metadata=metadata, timeout=30)
        return int(answer.accepted)

    call = unary if kind == "unary" else streamed
    return asyncio.run(load(call, target, seconds, streams, offset))


def merged(parts: list[Raw]) -> Figures:
    latencies = sorted(x for part in parts for x in part.latencies)
    return Figures(
        sum(p.events for p in parts),
        len(latencies),
        max(p.seconds for p in parts),
        latencies[len(latencies) // 2] * 1000,
        latencies[int(len(latencies) * 0.99)] * 1000,
        sum(p.errors for p in parts),
    )


def grpc_figures(
    target: str, key: str, body: bytes, args: argparse.Namespace
) -> dict[str, Figures]:
    results = {}
    streams = max(1, args.connections // args.clients)
    context = multiprocessing.get_context("spawn")  # grpc does not survive fork
    with ProcessPoolExecutor(args.clients, mp_context=context) as pool:
        for name, kind in (
            ("grpc SubmitEvent", "unary"),
            (f"grpc SubmitEvents x{args.batch}", "stream"),
        ):
            for seconds in (2, args.seconds):  # warm-up, then measured
                futures = [
                    pool.submit(
                        client_process,
                        kind,
                        target,
                        key,
                        body,
                        seconds,
                        streams,
                        args.batch,
                        c * 100_000_000 + seconds,
                    )
                    for c in range(args.clients)
                ]
                results[name] = merged([f.result() for f in futures])
            print(f"  {name:<24} done", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="load per endpoint")
    parser.add_argument("--connections", type=int, default=32, help="concurrent calls")
    parser.add_argument("--batch", type=int, default=100, help="events per SubmitEvents")
    parser.add_argument("--clients", type=int, default=2, help="gRPC load processes")
    args = parser.parse_args()

    broker, started = broker_url()
    database, started_pg = database_url()
    prefix = f"bench{uuid.uuid4().hex[:6]}-"
    env = {
        "BROKER_URL": broker,
        "DATABASE_URL": database,
        "REDIS_URL": broker if broker.startswith("redis") else "redis://127.0.0.1:6379/0",
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "QUEUE_PREFIX": prefix,
        "LOG_LEVEL": "WARNING",
        "GRPC_SOURCES": json.dumps({"bench": ""}),
        "GRPC_METRICS_PORT": "0",
    }
    key = api_key(database)
    body = stripe_payload()
    http_port, grpc_port = free_port(), free_port()
    receiver = start_server(
        env, http_port, factory="webhooks.main:app_from_env", extra=("--http", PROTOCOL)
    )
    server = start_grpc(env, grpc_port)
    print(
        f"payload {len(body)} bytes, {args.connections} concurrent calls, {args.seconds} s "
        f"each, HTTP load by {generator_name()}, gRPC load by {args.clients} Python "
        f"processes, broker {broker.split('://')[0]}"
    )
    rows: dict[str, Figures] = {}
    try:
        url = f"http://127.0.0.1:{http_port}/webhooks/stripe"
        run_load(url, body, stripe_headers(body), 2, args.connections)  # warm-up
        http = run_load(url, body, stripe_headers(body), args.seconds, args.connections)
        ok = http.requests - http.errors
        rows["http receiver"] = Figures(
            ok, http.requests, http.requests / http.rps, http.p50_ms, http.p99_ms, http.errors
        )
        print(f"  {'http receiver':<24} done", flush=True)
        rows.update(grpc_figures(f"127.0.0.1:{grpc_port}", key, body, args))
    finally:
        for process in (receiver, server):
            process.terminate()
            process.wait(10)
        enqueued = drain(broker, prefix)
        for embedded in [*started, *started_pg]:
            embedded.stop()
    print(f"\n{'endpoint':<26}{'events/s':>10}{'calls':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, f in rows.items():
        print(f"{name:<26}{f.eps:>10.0f}{f.calls:>9}{f.p50_ms:>9.2f}{f.p99_ms:>9.2f}{f.errors:>8}")
    print(f"\nmessages left in the broker: {enqueued}")
    best = max(f.eps for name, f in rows.items() if name.startswith("grpc"))
    print(f"best gRPC / HTTP receiver = {best / rows['http receiver'].eps:.2f} (target >= 1)")


if __name__ == "__main__":
    main()
