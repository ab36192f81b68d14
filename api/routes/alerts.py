"""Operator alerts: firing now and recently resolved, each with its runbook."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.auth.principal import Principal
from api.deps import RuntimeDep, SessionDep, require
from api.errors import error_responses
from pipeline.alerts import listing, repository

router = APIRouter(prefix="/alerts", tags=["alerts"])
Reader = Annotated[Principal, Depends(require("alerts:read"))]


class AlertOut(BaseModel):
    key: str
    status: str
    text: str
    total: int
    first_at: datetime
    last_at: datetime
    resolved_at: datetime | None
    runbook: str | None = Field(
        None,
        description="What to do about it: a URL (ALERTMANAGER_RUNBOOK_BASE_URL set) or "
        "the page in the docs",
        examples=["https://docs.example.com/operations/alerts/#events-going-dead"],
    )


@router.get("", responses=error_responses(401, 403, 422, 429), summary="Active and recent alerts")
def list_alerts(
    _: Reader,
    session: SessionDep,
    runtime: RuntimeDep,
    active: Annotated[bool, Query(description="Only firing ones.")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertOut]:
    """Firing alerts first, then the most recent."""
    base_url = runtime.deps.providers.alertmanager.runbook_base_url
    out = []
    for a in repository.firing_then_recent(session, active=active, limit=limit):
        book = listing.runbook(a.key, a.text, base_url)
        out.append(
            AlertOut(
                key=a.key,
                status=a.status,
                text=a.text,
                total=a.total,
                first_at=a.first_at,
                last_at=a.last_at,
                resolved_at=a.resolved_at,
                runbook=book and (book.href or book.label),
            )
        )
    return out
