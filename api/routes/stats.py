"""Statistics for charts, cached briefly (every dashboard polls them)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from api.auth.principal import Principal
from api.deps import RuntimeDep, require
from api.errors import error_responses
from pipeline.events import stats

router = APIRouter(prefix="/stats", tags=["stats"])
Reader = Annotated[Principal, Depends(require("stats:read"))]


class MinuteCount(BaseModel):
    minute: str
    source: str
    status: str
    count: int


@router.get(
    "/events",
    responses=error_responses(401, 403, 422, 429),
    summary="Events per minute by source and status",
)
def events_per_minute(
    _: Reader,
    runtime: RuntimeDep,
    minutes: Annotated[int, Query(ge=1, le=1440, description="How far back")] = 60,
) -> list[MinuteCount]:
    def load() -> list[dict[str, Any]]:
        with runtime.sessions() as session:
            return stats.per_minute(session, minutes)

    return [MinuteCount(**row) for row in runtime.cache.get(stats.CACHE, str(minutes), load)]
