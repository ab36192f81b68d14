"""The dashboard: events per minute by source and by status (last hour or day), failure
rate, queue depth, processing latency, active alerts, the last backup. Each figure links
to the list behind it. Figures come from the services behind /api/v1/stats, alerts and
backups, and the alert probes' queue statistics, cached like the API's."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from loguru import logger
from starlette.responses import Response

from adapters.broker.queue_stats import queue_stats
from api.console.auth import Console, require
from api.console.nav import nav_path
from api.console.render import render
from api.deps import RuntimeDep, SessionDep
from api.runtime import ApiRuntime
from pipeline.alerts import repository as alerts
from pipeline.backups import repository as backups
from pipeline.events import stats

router = APIRouter(prefix="/admin", include_in_schema=False)
Reader = Annotated[Console, Depends(require("stats:read"))]
# window → (minutes back, seconds per chart bucket, the events list's range filter)
WINDOWS = {"hour": (60, 60, "1h"), "day": (1440, 900, "24h")}
FAILING = ("failed", "dead")


def series(rows: list[dict[str, Any]], minutes: int, bucket_s: int, now: float) -> dict[str, Any]:
    """Counts per bucket by source and by status, on one time axis (zeros filled in)."""
    size = minutes * 60 // bucket_s
    start = int(now // bucket_s) * bucket_s - (size - 1) * bucket_s
    times = [start + i * bucket_s for i in range(size)]
    by: dict[str, dict[str, list[int]]] = {"source": {}, "status": {}}
    for row in rows:
        at = datetime.fromisoformat(row["minute"]).timestamp()
        index = int(at - start) // bucket_s
        if not 0 <= index < size:
            continue
        for axis in ("source", "status"):
            counts = by[axis].setdefault(row[axis], [0] * size)
            counts[index] += row["count"]
    return {"times": times, "by_source": by["source"], "by_status": by["status"]}


def _queues(runtime: ApiRuntime) -> list[dict[str, Any]] | None:
    broker = runtime.settings.broker_url
    if not broker:
        return None

    def load() -> list[dict[str, Any]]:
        return [asdict(q) for q in queue_stats(broker, None)]

    try:
        found: list[dict[str, Any]] = runtime.cache.get("console-queues", "all", load)
    except Exception as exc:  # the broker is down: the dashboard still shows the rest
        logger.warning("queue depth unavailable: {}", exc)
        return None
    return found


def _figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum(r["count"] for r in rows)
    failing = sum(r["count"] for r in rows if r["status"] in FAILING)
    dead = sum(r["count"] for r in rows if r["status"] == "dead")
    return {
        "total": total,
        "failing": failing,
        "dead": dead,
        "failure_rate": failing / total if total else None,
    }


@router.get("/")
def dashboard(
    request: Request, console: Reader, session: SessionDep, runtime: RuntimeDep
) -> Response:
    window = request.query_params.get("window", "hour")
    if window not in WINDOWS:
        window = "hour"
    minutes, bucket_s, range_key = WINDOWS[window]

    def per_minute() -> list[dict[str, Any]]:
        with runtime.sessions() as reading:
            return stats.per_minute(reading, minutes)

    def latency() -> dict[str, Any]:
        with runtime.sessions() as reading:
            return stats.latency(reading, minutes)

    rows: list[dict[str, Any]] = runtime.cache.get(stats.CACHE, str(minutes), per_minute)
    last_backup = backups.recent_runs(session, 1)
    return render(
        request,
        "dashboard.html",
        console,
        active="dashboard",
        window=window,
        refresh_s=max(5, round(runtime.settings.api_cache_ttl_s)),  # no faster than the cache
        range_key=range_key,
        figures=_figures(rows),
        latency=runtime.cache.get(stats.CACHE, f"latency:{minutes}", latency),
        queues=_queues(runtime),
        alerts=alerts.firing_then_recent(session, active=True, limit=20),
        backup=last_backup[0] if last_backup else None,
        backups_path=nav_path("backups"),
        alerts_path=nav_path("alerts"),
        chart=series(rows, minutes, bucket_s, datetime.now(UTC).timestamp()),
    )
