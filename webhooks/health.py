"""Liveness, readiness, and the system health report.

Readiness is what the receiver needs to accept webhooks: the broker. The database is
not on the request path, so a database outage must not take receivers out of rotation
(the workers ride it out). The whole system's health is `/healthz/system`.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from loguru import logger

from adapters.health import system_health
from pipeline.version import __version__

router = APIRouter()
CHECK_TIMEOUT_S = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    try:
        await asyncio.wait_for(request.app.state.publisher.ping(), CHECK_TIMEOUT_S)
        broker = "ok"
    except Exception as exc:  # the reason goes to the log, not to whoever asks
        logger.warning("not ready: broker: {}: {}", type(exc).__name__, exc)
        broker = "unreachable"
    ready = broker == "ok"
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": {"broker": broker}},
        status_code=200 if ready else 503,
    )


@router.get("/healthz/system")
async def system(request: Request) -> JSONResponse:
    """Database, broker, workers' and beat's heartbeats; 503 when any is not ok."""
    report = await asyncio.to_thread(system_health, request.app.state.settings)
    return JSONResponse(report.as_json(), status_code=200 if report.healthy else 503)
