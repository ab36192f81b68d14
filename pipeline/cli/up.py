"""`pipeline up`: embedded or configured services, migrations, receiver, operator API,
gRPC API, worker and beat."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import typer

from pipeline.cli.api import ensure_signing_key
from pipeline.cli.common import DataDirOption, prepare
from pipeline.migrate import upgrade

STOP_TIMEOUT_S = 20.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    if "://" not in url:
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("://", 1)[0] + "://…"


def _spawn(name: str, args: list[str], env: dict[str, str]) -> Child:
    # A session of its own: Ctrl-C reaches only this supervisor, which stops children in order.
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", *args], env=env, start_new_session=True
    )
    return Child(name, process)


def _stop(children: list[Child]) -> None:
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for child in children:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            child.process.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            typer.echo(f"{child.name} did not stop in time; killing it", err=True)
            child.process.kill()
            child.process.wait()


def up(
    host: str = typer.Option("127.0.0.1", help="Receiver address."),
    port: int = typer.Option(8000, help="Receiver port."),
    api_port: int = typer.Option(8001, help="Operator API port (on the receiver's address)."),
    grpc_port: int = typer.Option(50051, help="gRPC API port (on the receiver's address)."),
    concurrency: int | None = typer.Option(None, help="Worker processes (default: CPUs)."),
    flower: bool = typer.Option(False, help="Also start Flower on port 5555."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Start everything: services (embedded when not configured), migrations, receiver,
    operator API, worker and beat. Ctrl-C stops it all."""
    services = prepare("up", data_dir)
    ensure_signing_key(services)
    for name in services.embedded:
        where = services.database_url if name == "postgresql" else services.broker_url
        typer.echo(f"embedded {name}: {_redact(where)} (data in {services.data_dir})")
    if "postgresql" not in services.embedded:
        typer.echo(f"database: {_redact(services.database_url)}")
    if "redis" not in services.embedded:
        typer.echo(f"broker: {_redact(services.broker_url)}")
    upgrade(services.database_url)
    typer.echo("migrations: up to date")

    env = {**os.environ, **services.env()}
    worker_args = ["worker"] + ([f"--concurrency={concurrency}"] if concurrency else [])
    children = [
        _spawn("receiver", ["receiver", "--host", host, "--port", str(port)], env),
        _spawn("api", ["api", "--host", host, "--port", str(api_port)], env),
        _spawn("grpc", ["grpc", "--host", host, "--port", str(grpc_port)], env),
        _spawn("worker", worker_args, env),
        _spawn("beat", ["beat"], env),
    ]
    if flower:
        children.append(_spawn("flower", ["flower"], env))
    typer.echo(f"receiver: http://{host}:{port}  (webhooks at /webhooks/<provider>)")
    typer.echo(
        f"api: http://{host}:{api_port}/api/docs  (log in: `pipeline staff add EMAIL --role "
        "admin`, then POST /api/v1/auth/code; without SMTP_URL the code is printed here)"
    )
    typer.echo(f"console: http://{host}:{api_port}/admin  (the same staff logins, in a browser)")
    typer.echo(f"grpc: {host}:{grpc_port}  (pipeline.v1.PipelineService; reflection on)")
    typer.echo("worker and beat started; Ctrl-C stops everything")

    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    try:
        while not stopping:
            for child in children:
                code = child.process.poll()
                if code is not None:
                    typer.echo(f"{child.name} exited with code {code}; stopping", err=True)
                    stopping, exit_code = True, 1
                    break
            time.sleep(0.2)
    finally:
        typer.echo("stopping receiver, api, grpc, worker and beat …")
        _stop(children)
        if services.started:
            typer.echo("stopping embedded servers …")
        services.stop_started()
        typer.echo("stopped")
    raise typer.Exit(exit_code)
