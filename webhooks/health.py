"""Liveness and readiness."""

from __future__ import annotations

import asyncio

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from loguru import logger

from pipeline.version import __version__
from schema.session import libpq_url

router = APIRouter()
CHECK_TIMEOUT_S = 2.0


async def _database(url: str) -> None:
    conn = await psycopg.AsyncConnection.connect(libpq_url(url), connect_timeout=2)
    async with conn:
        await conn.execute("SELECT 1")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    checks: dict[str, str] = {}

    async def check(name: str, probe: asyncio.Future[None] | asyncio.Task[None]) -> None:
        try:
            await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
            checks[name] = "ok"
        except Exception as exc:  # the text (hosts, users) goes to the log, not the answer
            logger.warning("readiness check {} failed: {}: {}", name, type(exc).__name__, exc)
            checks[name] = "error"

    await asyncio.gather(
        check("broker", asyncio.ensure_future(state.publisher.ping())),
        check("database", asyncio.ensure_future(_database(state.database_url))),
    )
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
