"""Operator alerts: firing now and recently resolved."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from api.auth.principal import Principal
from api.deps import SessionDep, require
from api.errors import error_responses
from schema.operations import Alert

router = APIRouter(prefix="/alerts", tags=["alerts"])
Reader = Annotated[Principal, Depends(require("alerts:read"))]


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key: str
    status: str
    text: str
    total: int
    first_at: datetime
    last_at: datetime
    resolved_at: datetime | None


@router.get("", responses=error_responses(401, 403, 422, 429), summary="Active and recent alerts")
def list_alerts(
    _: Reader,
    session: SessionDep,
    active: Annotated[bool, Query(description="Only firing ones.")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertOut]:
    """Firing alerts first, then the most recent."""
    stmt = select(Alert).order_by(Alert.status == "resolved", Alert.last_at.desc()).limit(limit)
    if active:
        stmt = stmt.where(Alert.status == "firing")
    return [AlertOut.model_validate(a) for a in session.scalars(stmt)]
