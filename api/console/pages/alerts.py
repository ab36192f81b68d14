"""Alerts: firing now, then recently resolved, each with the runbook that says what to
do (a link when ALERTMANAGER_RUNBOOK_BASE_URL names the docs site, else the docs page).
Everyone with `alerts:read` sees them; the page refreshes itself every 15 seconds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.console.auth import Console, require
from api.console.render import render
from api.deps import RuntimeDep, SessionDep
from pipeline.alerts import listing, repository

router = APIRouter(prefix="/admin/alerts", include_in_schema=False)
Reader = Annotated[Console, Depends(require("alerts:read"))]
LIMIT = 200


@router.get("")
def alerts_page(
    request: Request,
    console: Reader,
    session: SessionDep,
    runtime: RuntimeDep,
    show: str = "all",
) -> Response:
    active_only = show == "active"
    base_url = runtime.deps.providers.alertmanager.runbook_base_url
    rows = [
        (alert, listing.runbook(alert.key, alert.text, base_url))
        for alert in repository.firing_then_recent(session, active=active_only, limit=LIMIT)
    ]
    firing = sum(1 for alert, _ in rows if alert.status == "firing")
    return render(
        request, "alerts.html", console, active="alerts",
        rows=rows, active_only=active_only, firing=firing,
    )  # fmt: skip
