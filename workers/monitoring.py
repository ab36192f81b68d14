"""Process-level monitoring of workers and beat: metrics exporter, task durations,
heartbeats, Sentry. Wired to Celery signals in workers.celery_app."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from loguru import logger

from pipeline import metrics
from pipeline.alerts.checks import check_heartbeat
from pipeline.alerts.probes import beat_alive, beat_heart, last_heartbeat, sync_client
from pipeline.events.errors import one_line
from pipeline.settings import Settings
from pipeline.unit_of_work import unit_of_work

HEARTBEAT_EVERY_S = 15.0


def start_exporter(port: int, sources: list[str]) -> None:
    """Serve the worker's metrics (all pool processes aggregated) from the main process."""
    if port <= 0:
        return
    from prometheus_client import start_http_server

    metrics.initialize_series(sources)

    registry = metrics.registry()
    try:
        if registry is not None:
            start_http_server(port, registry=registry)
        else:
            start_http_server(port)
    except OSError as exc:  # a second worker on the host: it has its own --metrics-port
        logger.warning("metrics port {} not available: {}", port, exc)
        return
    logger.info("worker metrics on :{}/metrics", port)


def task_started(started: dict[str, float], task_id: str) -> None:
    started[task_id] = time.perf_counter()


def task_finished(started: dict[str, float], task_id: str, name: str) -> None:
    began = started.pop(task_id, None)
    if began is not None:
        metrics.TASK_DURATION.labels(name).observe(time.perf_counter() - began)


def _loop(every_s: float, step: Any, what: str) -> None:
    def run() -> None:
        while True:
            try:
                step()
            except Exception as exc:  # keep beating: Redis or the database may come back
                logger.warning("{} failed: {}", what, one_line(exc))
            time.sleep(every_s)

    threading.Thread(target=run, name=what, daemon=True).start()


def start_heartbeat(settings: Settings) -> None:
    """The worker says it is alive in Redis every 15 s (the key expires after 4 beats)."""
    client = sync_client(settings)
    if client is None:
        return
    name = f"{os.uname().nodename}:{os.getpid()}"
    _loop(HEARTBEAT_EVERY_S, lambda: beat_heart(client, HEARTBEAT_EVERY_S * 4, name), "heartbeat")


def start_beat_heartbeat(settings: Settings) -> None:
    """Beat says it is alive too, for the system health report (adapters.health)."""
    client = sync_client(settings)
    if client is not None:
        _loop(HEARTBEAT_EVERY_S, lambda: beat_alive(client, HEARTBEAT_EVERY_S * 4), "beat-alive")


def start_heartbeat_watch(settings: Settings) -> None:
    """In beat: raise `worker_heartbeat` when no worker has beaten for ALERT_HEARTBEAT_S."""
    client = sync_client(settings)
    if client is None or not settings.database_url:
        return
    from workers.context import deps, sessions

    grace_until = time.time() + settings.alert_heartbeat_s  # workers may still be starting

    def step() -> None:
        if time.time() < grace_until:
            return
        with unit_of_work(sessions(), deps()) as uow:
            check_heartbeat(uow.session, settings, last_heartbeat(client))

    _loop(30.0, step, "heartbeat-watch")
