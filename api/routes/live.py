"""`/api/v1/ws`: live event status changes, broadcast progress, feedback and alerts.

Authentication: `?token=` in the URL or `token` in the first (`subscribe`) message, an
access token or an API key; or, without either, the console's session cookie.
Protocol and close codes: docs/api.md, "Live updates".
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool

from api.auth.principal import Principal
from api.auth.resolve import resolve_token
from api.live.connection import LiveSettings
from api.live.endpoint import live_endpoint
from api.live.hub import Hub
from api.runtime import ApiRuntime
from pipeline.auth.permissions import ALL_SCOPES

router = APIRouter(tags=["live"])


@router.websocket("/ws", name="live")
async def live(websocket: WebSocket) -> None:
    runtime: ApiRuntime = websocket.app.state.runtime
    hub: Hub = websocket.app.state.hub

    async def authenticate(token: str) -> frozenset[str] | None:
        if token:
            principal = await run_in_threadpool(resolve_token, runtime, token)
        else:  # the console's session cookie (same origin only)
            principal = await run_in_threadpool(_from_connection, runtime, websocket)
        if principal is None:
            return None
        return frozenset(scope for scope in ALL_SCOPES if principal.allows(scope))

    settings = LiveSettings(
        ping_interval_s=runtime.settings.api_ws_ping_interval_s,
        recheck_s=runtime.settings.api_ws_recheck_s,
    )
    await live_endpoint(hub, runtime.sessions, authenticate, settings)(websocket)


def _from_connection(runtime: ApiRuntime, websocket: WebSocket) -> Principal | None:
    for extra in runtime.extra_auth:
        principal = extra(runtime, websocket)
        if principal is not None:
            return principal
    return None
