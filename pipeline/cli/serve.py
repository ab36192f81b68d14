"""Long-running roles: receiver, worker, beat, flower."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from pipeline.cli.common import DataDirOption, prepare
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
    try:
        uvicorn.run(
            "webhooks.main:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=10,
        )
    finally:
        services.stop_started()


def worker(
    queues: str = typer.Option("", help="Comma-separated queues (default: all)."),
    concurrency: int | None = typer.Option(None, help="Worker processes (default: CPUs)."),
    pool: str = typer.Option("prefork", help="Celery pool: prefork, threads, solo."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Run a Celery worker."""
    services = prepare("worker", data_dir)
    from pipeline.messaging.queues import ALL_QUEUES
    from workers.celery_app import app

    argv = [
        "worker",
        f"--pool={pool}",
        "--loglevel",
        get_settings().log_level,
        "-Q",
        queues or ",".join(ALL_QUEUES),
        "--without-mingle",
    ]
    concurrency = concurrency or get_settings().worker_concurrency
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    try:
        app.worker_main(argv)
    finally:
        services.stop_started()


def beat(data_dir: Path | None = DataDirOption) -> None:
    """Run Celery beat (the periodic schedule)."""
    services = prepare("beat", data_dir)
    from workers.celery_app import app

    services.data_dir.mkdir(parents=True, exist_ok=True)
    schedule = services.data_dir / "celerybeat-schedule"
    try:
        app.start(["beat", "--schedule", str(schedule), "--loglevel", get_settings().log_level])
    finally:
        services.stop_started()


def flower(
    port: int = typer.Option(5555, help="Port for Flower."),
    address: str = typer.Option("127.0.0.1", help="Address for Flower."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Run Flower, the Celery monitoring UI."""
    services = prepare("flower", data_dir)
    from workers.celery_app import app

    argv = ["flower", f"--port={port}", f"--address={address}"]
    auth = os.environ.get("FLOWER_BASIC_AUTH")
    if auth:
        argv.append(f"--basic-auth={auth}")
    try:
        app.start(argv)
    finally:
        services.stop_started()
