"""Long-running roles: receiver, worker, beat, flower."""

from __future__ import annotations

import ipaddress
import os
import signal
import subprocess
import sys
from pathlib import Path

import typer

from cli.common import DataDirOption, prepare
from pipeline.messaging.queues import ALL_QUEUES, queue_name
from pipeline.metrics import prepare_multiprocess_dir
from pipeline.runtime import Services
from pipeline.settings import get_settings


def receiver(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, help="Receiver processes."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Run the webhook receiver (FastAPI on uvicorn)."""
    import uvicorn

    services = prepare("receiver", data_dir)
    if workers > 1:  # /metrics must add up every process' counters
        prepare_multiprocess_dir(services.data_dir / "metrics" / f"receiver-{port}")
    # uvicorn shuts down on SIGTERM and then raises the signal again: with the default
    # action that kills the process before `finally` stops the embedded servers it
    # started (a daemonized redis-server would be left running). Exit normally instead.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
    try:
        uvicorn.run(
            "webhooks.main:app_from_env",
            factory=True,
            # Tells the app how many connections are open, which ends the publisher's
            # hold early (webhooks.connections).
            http="webhooks.connections:CountingHttpProtocol",
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            # The client address is resolved by the receiver from TRUSTED_PROXIES alone;
            # uvicorn's own X-Forwarded-For handling (FORWARDED_ALLOW_IPS) stays off.
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=10,
        )
    finally:
        services.stop_started()


CELERY_APP = "workers.celery_app:app"  # by name: the CLI does not import the workers


def run_celery(args: list[str], services: Services) -> None:
    """Run a Celery command as a child, forwarding SIGINT/SIGTERM, then stop what we started."""
    process = subprocess.Popen([sys.executable, "-m", "celery", "-A", CELERY_APP, *args])

    def forward(signum: int, _frame: object) -> None:
        if process.poll() is None:
            process.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        code = process.wait()
    finally:
        services.stop_started()
    raise typer.Exit(code)


def worker(
    queues: str = typer.Option("", help="Comma-separated queues (default: all)."),
    concurrency: int | None = typer.Option(None, help="Worker processes (default: CPUs)."),
    pool: str = typer.Option("prefork", help="Celery pool: prefork, threads, solo."),
    hostname: str = typer.Option(
        "", help="Node name (default celery@HOST); each worker on one host needs its own."
    ),
    metrics_port: int | None = typer.Option(
        None, help="Port of the worker's /metrics (default WORKER_METRICS_PORT; 0: none)."
    ),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Run a Celery worker."""
    services = prepare("worker", data_dir)
    port = get_settings().worker_metrics_port if metrics_port is None else metrics_port
    os.environ["WORKER_METRICS_PORT"] = str(port)
    # Pool processes write their samples to files the main process adds up.
    prepare_multiprocess_dir(services.data_dir / "metrics" / f"worker-{port}")
    wanted = [q.strip() for q in queues.split(",") if q.strip()] or list(ALL_QUEUES)
    args = [
        "worker",
        f"--pool={pool}",
        "--loglevel",
        get_settings().log_level,
        "-Q",
        ",".join(queue_name(q) for q in wanted),
        "--without-mingle",
    ]
    if hostname:
        args.append(f"--hostname={hostname}")
    concurrency = concurrency or get_settings().worker_concurrency
    if concurrency:
        args.append(f"--concurrency={concurrency}")
    run_celery(args, services)


def beat(data_dir: Path | None = DataDirOption) -> None:
    """Run Celery beat (the periodic schedule)."""
    services = prepare("beat", data_dir)
    services.data_dir.mkdir(parents=True, exist_ok=True)
    schedule = services.data_dir / "celerybeat-schedule"
    run_celery(
        ["beat", "--schedule", str(schedule), "--loglevel", get_settings().log_level], services
    )


def flower(
    port: int = typer.Option(5555, help="Port for Flower."),
    address: str = typer.Option("127.0.0.1", help="Address for Flower."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Run Flower, the Celery monitoring UI (refused off loopback without a login)."""
    auth = get_settings().flower_basic_auth
    login = auth.get_secret_value() if auth is not None else ""
    if not login and not _loopback(address):
        # Flower can revoke tasks and shut workers down: never open to a network.
        typer.echo(
            f"error: Flower on {address} needs FLOWER_BASIC_AUTH=user:password "
            "(or --address 127.0.0.1)",
            err=True,
        )
        raise typer.Exit(2)
    services = prepare("flower", data_dir)
    if login:
        # Through the environment, not argv: the command line is visible to every user.
        os.environ["FLOWER_BASIC_AUTH"] = login
    run_celery(["flower", f"--port={port}", f"--address={address}"], services)


def _loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # a host name: may resolve to anything
