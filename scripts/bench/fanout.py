"""WebSocket fan-out benchmark: commit-to-delivery delay of `/api/v1/ws` (scripts/bench_api).

How the server, not the client, is measured:
- The producer commits batches of events at a fixed tick and notes each batch's commit time
  (wall clock, right after COMMIT returned); the batch number is embedded in each event's
  `external_id` (`live-<batch>-<n>`), so a delivery names its commit.
- The clients are lean: raw non-blocking sockets in a few processes, a selector loop that
  only splits WebSocket frames and pulls the ids out with a regex. Each read carries the
  kernel's arrival time of its data (`SO_TIMESTAMPNS`, the same wall clock as the
  producer's), so the delay is "commit -> bytes arrived at the client's socket": a busy
  client process that reads late does not add to it. The delay as the client read it is
  printed too; their difference is the clients' own lag.
"""

from __future__ import annotations

import base64
import gc
import multiprocessing
import os
import re
import selectors
import socket
import struct
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, text

from pipeline.deps import Deps
from pipeline.live.events import announce_changes
from pipeline.redis_client import connect_redis
from pipeline.settings import get_settings
from schema.session import make_session_factory

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; Python does not export it
INSERT_LIVE = text(
    "INSERT INTO events (source, type, external_id, status, payload, received_at) "
    "SELECT 'stripe', 'payment.succeeded', x, 'processed', '{}'::jsonb, now() "
    "FROM unnest(CAST(:ids AS text[])) AS x"
)
LIVE_ID = re.compile(rb'"external_id":"live-(\d+)-')
TICKS_PER_S = 20


@dataclass
class _Conn:
    sock: socket.socket
    buffer: bytearray


def _handshake(host: str, port: int, key: str) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=120)
    nonce = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /api/v1/ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {nonce}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        response += chunk
    if not response.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(response.split(b"\r\n", 1)[0].decode())
    subscribe = orjson.dumps({"type": "subscribe", "token": key, "topics": ["events"]})
    sock.sendall(_client_frame(subscribe))
    rest = bytearray(response.split(b"\r\n\r\n", 1)[1])
    while not any(b'"ready"' in payload for payload in _frames(rest)):
        rest += sock.recv(65536)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.setblocking(False)
    return sock


def _client_frame(payload: bytes) -> bytes:
    """A masked text frame (clients must mask; payloads here are < 126 bytes)."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x81, 0x80 | len(payload)]) + mask + masked


def _frames(buffer: bytearray) -> list[bytes]:
    """Complete server frames' payloads, removed from `buffer` (servers do not mask)."""
    found = []
    while len(buffer) >= 2:
        size, start = buffer[1] & 0x7F, 2
        if size == 126:
            if len(buffer) < 4:
                break
            size, start = struct.unpack_from("!H", buffer, 2)[0], 4
        elif size == 127:
            if len(buffer) < 10:
                break
            size, start = struct.unpack_from("!Q", buffer, 2)[0], 10
        if len(buffer) < start + size:
            break
        found.append(bytes(buffer[start : start + size]))
        del buffer[: start + size]
    return found


def _clients(host: str, port: int, key: str, count: int, ready: Any, go_home: Any) -> bytes:
    """`count` subscribed connections read until `go_home`; per delivered event its batch,
    the kernel's arrival time and the time the client read it (arrays, as bytes)."""
    conns = [_Conn(_handshake(host, port, key), bytearray()) for _ in range(count)]
    ready.set()
    selector = selectors.DefaultSelector()
    for conn in conns:
        selector.register(conn.sock, selectors.EVENT_READ, conn)
    batches, arrived, read = array("l"), array("d"), array("d")
    ancillary = socket.CMSG_SPACE(16)
    while not go_home.is_set():
        for ready_key, _ in selector.select(0.2):
            conn = ready_key.data
            try:
                data, cmsgs, _, _ = conn.sock.recvmsg(1 << 18, ancillary)
            except BlockingIOError:
                continue
            now = time.time()
            if not data:
                selector.unregister(conn.sock)
                continue
            at = now
            for level, kind, value in cmsgs:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    seconds, nanos = struct.unpack("ll", value[:16])
                    at = seconds + nanos / 1e9
            conn.buffer += data
            for payload in _frames(conn.buffer):
                for match in LIVE_ID.findall(payload):
                    batches.append(int(match))
                    arrived.append(at)
                    read.append(now)
    for conn in conns:
        conn.sock.close()
    return orjson.dumps([batches.tobytes().hex(), arrived.tobytes().hex(), read.tobytes().hex()])


def _client_process(
    host: str, port: int, key: str, count: int, ready: Any, go_home: Any, out: Any
) -> None:
    gc.freeze()  # what the imports built: no full collection stalls the reading
    out.put(_clients(host, port, key, count, ready, go_home))


def cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its children (uvicorn's workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if root in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class _Produced:
    committed: dict[int, float]  # batch -> wall time its COMMIT returned
    published: dict[int, float]  # batch -> wall time its announcement was published
    count: int
    seconds: float


def _produce(engine: Engine, rate: int, seconds: float) -> _Produced:
    """Commit `rate` events/s in TICKS_PER_S commits a second, announcing after each. A
    late tick commits what is due (bigger batch), so the offered rate holds on a busy host."""
    sessions = make_session_factory(engine)
    settings = get_settings()
    deps = Deps(settings, redis=connect_redis(settings))  # the producer's own, as a worker's
    committed: dict[int, float] = {}
    published: dict[int, float] = {}
    produced, batch = 0, 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        due = int(rate * elapsed) + max(1, rate // TICKS_PER_S) - produced
        if due > 0:
            ids = [f"live-{batch}-{i}" for i in range(due)]
            with sessions() as session:
                session.execute(INSERT_LIVE, {"ids": ids})
                session.commit()
            committed[batch] = time.time()
            announce_changes(engine, deps)
            published[batch] = time.time()
            produced += due
            batch += 1
        time.sleep(max(0.0, (batch / TICKS_PER_S) - (time.perf_counter() - started)))
    return _Produced(committed, published, produced, time.perf_counter() - started)


def bench_fanout(
    engine: Engine, host: str, port: int, key: str, clients: int, rate: int, seconds: float,
    procs: int, api_pid: int,
) -> dict[str, float]:  # fmt: skip
    context = multiprocessing.get_context("spawn")
    procs = max(1, min(procs, clients))
    go_home, out = context.Event(), context.Queue()
    readies = [context.Event() for _ in range(procs)]
    shares = [clients // procs + (i < clients % procs) for i in range(procs)]
    workers = [
        context.Process(
            target=_client_process, args=(host, port, key, n, ready, go_home, out), daemon=True
        )
        for n, ready in zip(shares, readies, strict=True)
    ]
    for worker in workers:
        worker.start()
    for ready in readies:
        if not ready.wait(300):
            raise SystemExit("WebSocket clients did not connect")
    time.sleep(1)  # let the connects' work settle
    print("  clients connected, producing ...", flush=True)
    cpu_before = cpu_seconds(api_pid)
    produced = _produce(engine, rate, seconds)
    time.sleep(3)  # the tail
    api_cpu = cpu_seconds(api_pid) - cpu_before
    committed = produced.committed
    go_home.set()
    arrived_delays: list[float] = []
    read_delays: list[float] = []
    server_delays: list[float] = []
    batches_seen: list[int] = []
    for _ in workers:
        batches_hex, arrived_hex, read_hex = orjson.loads(out.get(timeout=300))
        batches, arrived, read = array("l"), array("d"), array("d")
        batches.frombytes(bytes.fromhex(batches_hex))
        arrived.frombytes(bytes.fromhex(arrived_hex))
        read.frombytes(bytes.fromhex(read_hex))
        for batch, at, seen in zip(batches, arrived, read, strict=True):
            if batch in committed:
                arrived_delays.append(at - committed[batch])
                batches_seen.append(batch)
                read_delays.append(seen - committed[batch])
                server_delays.append(at - produced.published[batch])
    for worker in workers:
        worker.join(30)
    if os.environ.get("BENCH_FANOUT_DUMP"):  # raw delays, for a look at their timeline
        with open(os.environ["BENCH_FANOUT_DUMP"], "wb") as dump:
            dump.write(orjson.dumps({"arrived": arrived_delays, "batches": batches_seen}))
    expected = produced.count * clients
    figures = {
        "events_per_s": produced.count / produced.seconds,
        "delivered_per_s": len(arrived_delays) / produced.seconds,
        "delivered_share": len(arrived_delays) / expected if expected else 0.0,
        "api_cpu_per_s": api_cpu / produced.seconds,
        "api_cpu_us_per_delivery": api_cpu / max(1, len(arrived_delays)) * 1e6,
    }
    for q in (0.5, 0.95, 0.99):
        figures[f"p{int(q * 100)}_ms"] = percentile(arrived_delays, q) * 1000
        figures[f"read_p{int(q * 100)}_ms"] = percentile(read_delays, q) * 1000
        figures[f"api_p{int(q * 100)}_ms"] = percentile(server_delays, q) * 1000
    return figures


def report(figures: dict[str, float]) -> None:
    f = figures
    print(
        f"  produced {f['events_per_s']:.0f} events/s; delivered {f['delivered_per_s']:.0f} "
        f"event deliveries/s ({f['delivered_share']:.1%} of events x clients)"
    )
    spread = ", ".join(f"{q} {f[q + '_ms']:.1f} ms" for q in ("p50", "p95", "p99"))
    print(f"  commit to arrival at the client's socket (the server): {spread}")
    spread = ", ".join(f"{q} {f['read_' + q + '_ms']:.1f} ms" for q in ("p50", "p95", "p99"))
    print(f"  commit to read by the client process (adds the clients' own lag): {spread}")
    spread = ", ".join(f"{q} {f['api_' + q + '_ms']:.1f} ms" for q in ("p50", "p95", "p99"))
    print(f"  published to arrival (the API process alone, without the announce): {spread}")
    print(
        f"  API CPU: {f['api_cpu_per_s']:.2f} s per second, "
        f"{f['api_cpu_us_per_delivery']:.1f} us per event delivered to one client"
    )
