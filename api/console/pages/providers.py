"""Providers: each webhook provider's route, whether it is configured, what it verifies,
its last event, error rate and recent rejections (the /api/v1/providers service)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.console.auth import Console, require
from api.console.render import render
from api.deps import RuntimeDep
from api.routes.providers import provider_health

router = APIRouter(prefix="/admin", include_in_schema=False)
Reader = Annotated[Console, Depends(require("providers:read"))]


def _row(info: dict[str, Any]) -> dict[str, Any]:
    last = info.get("last_event_at")
    seen = info["events_last_hour"] + info["rejected_recently"]
    return {
        "exposure": "",
        "exposure_note": "",
        "kinds": None,
        **info,
        "last_event": datetime.fromisoformat(last) if last else None,
        "rejection_rate": info["rejected_recently"] / seen if seen else 0.0,
    }


@router.get("/providers")
def providers(request: Request, console: Reader, runtime: RuntimeDep) -> Response:
    rows = [_row(info) for info in provider_health(runtime)]
    return render(
        request,
        "providers.html",
        console,
        active="providers",
        rows=rows,
        configured=sum(1 for r in rows if r["configured"]),
        window_min=runtime.settings.alert_signature_window_s // 60,
    )
