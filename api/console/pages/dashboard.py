"""The dashboard: the pipeline's health at a glance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from api.console.auth import Console, require
from api.console.render import render

ConsoleStats = Annotated[Console, Depends(require("stats:read"))]
router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("/")
def dashboard(request: Request, console: ConsoleStats) -> Response:
    return render(request, "dashboard.html", console, active="dashboard")
