"""The handler the test source `crm` routes to (declared in GRPC_SOURCES)."""

from __future__ import annotations

from pipeline.events.handlers import HandlerContext
from schema.events import EventStatus


def on_crm_event(ctx: HandlerContext) -> EventStatus | None:
    return EventStatus.IGNORED if ctx.payload.get("ignore") else None
