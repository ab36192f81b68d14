"""Announcing event status changes after commit (see pipeline.live.events)."""

from __future__ import annotations

from loguru import logger

from pipeline.live.events import announce_changes
from workers.context import deps, engine


def announce_event_changes() -> None:
    """Never fails the task: what is not announced now, the sweeper announces later."""
    try:
        announce_changes(engine(), deps())
    except Exception as exc:
        logger.warning("event changes not announced now: {}", exc)
