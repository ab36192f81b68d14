"""The WebSocket endpoint wired to the database (catch-up) and the process's hub."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket

from api.live.connection import Authenticate, LiveSettings, serve
from api.live.hub import Filters, Hub
from pipeline.live.events import changes_since, latest_cursor


def live_endpoint(
    hub: Hub,
    sessions: sessionmaker[Session],
    authenticate: Authenticate,
    settings: LiveSettings,
) -> Callable[[WebSocket], Awaitable[None]]:
    def changes(cursor: int, filters: Filters, limit: int) -> list[dict[str, Any]]:
        with sessions() as session:
            return changes_since(
                session,
                cursor,
                sources=sorted(filters.sources),
                statuses=sorted(filters.statuses),
                limit=limit,
            )

    def latest() -> int:
        with sessions() as session:
            return latest_cursor(session)

    async def read_changes(cursor: int, filters: Filters, limit: int) -> list[dict[str, Any]]:
        return await run_in_threadpool(changes, cursor, filters, limit)

    async def read_latest() -> int:
        return await run_in_threadpool(latest)

    async def endpoint(websocket: WebSocket) -> None:
        await serve(websocket, hub, authenticate, read_changes, read_latest, settings)

    return endpoint
