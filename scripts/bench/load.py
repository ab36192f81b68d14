"""Load generators: wrk when installed, else a small asyncio HTTP/1.1 client."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class LoadResult:
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    statuses: dict[int, int]


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, body: bytes, headers: dict[str, str], seconds: int, conns: int) -> LoadResult:
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "body"
        body_file.write_bytes(body)
        lines = [
            'wrk.method = "POST"',
            f'local f = io.open("{body_file}", "rb")',
            "wrk.body = f:read('*a')",
            "f:close()",
        ]
        lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]

        script = Path(tmp) / "post.lua"
        script.write_text("\n".join(lines) + "\n")
        out = subprocess.run(
            ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(script), url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    if "50%" not in out:
        raise RuntimeError(out)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    return LoadResult(total, rps, p50, p99, errors, {})


async def _client(
    host: str,
    port: int,
    request: bytes,
    until: float,
    latencies: list[float],
    statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


def run_python(
    url: str, body: bytes, headers: dict[str, str], seconds: int, conns: int
) -> LoadResult:
    match = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    assert match, url
    host, port, path = match.group(1), int(match.group(2)), match.group(3)
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def main() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(
            *(_client(host, port, request, until, latencies, statuses) for _ in range(conns))
        )

    started = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - started
    latencies.sort()
    errors = sum(n for code, n in statuses.items() if code >= 300)
    return LoadResult(
        len(latencies),
        len(latencies) / elapsed,
        latencies[len(latencies) // 2] * 1000,
        latencies[int(len(latencies) * 0.99)] * 1000,
        errors,
        statuses,
    )


def run_load(
    url: str, body: bytes, headers: dict[str, str], seconds: int, conns: int
) -> LoadResult:
    runner = run_wrk if shutil.which("wrk") else run_python
    return runner(url, body, headers, seconds, conns)


def generator_name() -> str:
    return "wrk" if shutil.which("wrk") else "python asyncio client (install wrk for less noise)"
