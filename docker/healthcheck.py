"""Container health check for every role of the image (`HEALTHCHECK` in the Dockerfile).

The role is read from the command of PID 1 (`pipeline receiver --port 8000`, ...), or
from the arguments given to this script, so one image needs no per-role setting:

- receiver: GET /readyz on its port answers 200 (it can accept webhooks: broker reachable;
  the database is not its business, see adapters.health);
- api: GET /healthz on its port (default 8001) answers 200;
- grpc: the standard gRPC health check on its port (default 50051) answers SERVING;
- worker: the worker on this host answers a Celery ping;
- beat: its schedule file was written recently;
- flower: GET /healthcheck answers 200;
- anything else (migrate, events, backup): healthy while it runs.

Exit 0 when healthy, 1 otherwise, with one line saying why.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROLES = ("receiver", "api", "grpc", "worker", "beat", "flower")
DEFAULT_PORTS = {"receiver": 8000, "api": 8001, "grpc": 50051, "flower": 5555}
TIMEOUT_S = 5.0
# Celery beat writes its schedule at least every 3 minutes.
BEAT_STALE_AFTER_S = 600.0


def pid1_command() -> list[str]:
    try:
        raw = Path("/proc/1/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def parse(argv: list[str]) -> tuple[str | None, dict[str, str]]:
    """The role named in a command line and its `--name value` options."""
    role = next((arg for arg in argv if arg in ROLES), None)
    options: dict[str, str] = {}
    for index, arg in enumerate(argv):
        if not arg.startswith("--"):
            continue
        name, sep, value = arg[2:].partition("=")
        if not sep and index + 1 < len(argv) and not argv[index + 1].startswith("--"):
            value = argv[index + 1]
        options[name] = value
    return role, options


def http_ok(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310
            status = int(response.status)
    except Exception as exc:
        return f"{url}: {exc}"
    return None if status == 200 else f"{url}: HTTP {status}"


def check_receiver(options: dict[str, str]) -> str | None:
    port = options.get("port") or DEFAULT_PORTS["receiver"]
    return http_ok(f"http://127.0.0.1:{port}/readyz")


def healthz(role: str) -> Callable[[dict[str, str]], str | None]:
    """The check of an HTTP role: GET /healthz on its port."""

    def check(options: dict[str, str]) -> str | None:
        port = options.get("port") or DEFAULT_PORTS[role]
        return http_ok(f"http://127.0.0.1:{port}/healthz")

    return check


def check_grpc(options: dict[str, str]) -> str | None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    port = options.get("port") or DEFAULT_PORTS["grpc"]
    # TLS when configured: the check trusts the server's own certificate.
    cert = os.environ.get("GRPC_TLS_CERT")
    target = f"127.0.0.1:{port}"
    if cert:
        credentials = grpc.ssl_channel_credentials(Path(cert).read_bytes())
        channel = grpc.secure_channel(target, credentials)
    else:
        channel = grpc.insecure_channel(target)
    try:
        with channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=TIMEOUT_S
            )
    except grpc.RpcError as exc:
        return f"{target}: {exc.code().name}"
    serving = answer.status == health_pb2.HealthCheckResponse.SERVING
    return (
        None
        if serving
        else f"{target}: {health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)}"
    )


def check_flower(options: dict[str, str]) -> str | None:
    port = options.get("port") or os.environ.get("FLOWER_PORT") or DEFAULT_PORTS["flower"]
    prefix = os.environ.get("FLOWER_URL_PREFIX", "").strip("/")
    path = f"/{prefix}/healthcheck" if prefix else "/healthcheck"
    return http_ok(f"http://127.0.0.1:{port}{path}")


def check_worker(options: dict[str, str]) -> str | None:
    from workers.celery_app import app

    node = f"celery@{socket.gethostname()}"
    try:
        replies = app.control.ping(destination=[node], timeout=TIMEOUT_S)
    except Exception as exc:
        return f"ping {node}: {exc}"
    return None if replies else f"{node} did not answer a ping"


def check_beat(options: dict[str, str]) -> str | None:
    data_dir = Path(os.environ.get("DATA_DIR", "var"))
    files = list(data_dir.glob("celerybeat-schedule*"))
    if not files:
        return f"no celerybeat-schedule in {data_dir}"
    age = time.time() - max(f.stat().st_mtime for f in files)
    if age > BEAT_STALE_AFTER_S:
        return f"the beat schedule was last written {int(age)} s ago"
    return None


CHECKS = {
    "receiver": check_receiver,
    "api": healthz("api"),
    "grpc": check_grpc,
    "worker": check_worker,
    "beat": check_beat,
    "flower": check_flower,
}


def main(argv: list[str] | None = None) -> int:
    command = argv if argv else pid1_command()
    role, options = parse(command)
    if role is None:
        print("healthy: no long-running role")
        return 0
    problem = CHECKS[role](options)
    if problem:
        print(f"unhealthy {role}: {problem}")
        return 1
    print(f"healthy {role}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
