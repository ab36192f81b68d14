"""The one Redis pub/sub channel of live updates and the shape of its messages.

A message is JSON: `{"topic": "events", "items": [{...}, ...]}`. Event items carry their
`cursor` (the row's `updated_seq`); other topics (broadcasts, feedback, alerts) are
announcements without a cursor.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

import orjson
from loguru import logger
from sqlalchemy.orm import Session

from pipeline.settings import Settings
from pipeline.unit_of_work import session_deps

if TYPE_CHECKING:
    from pipeline.deps import Deps

CHANNEL = "pipeline:live"


class Topic(StrEnum):
    EVENTS = "events"
    BROADCASTS = "broadcasts"
    FEEDBACK = "feedback"
    ALERTS = "alerts"
    ORDERS = "orders"


def channel_name(settings: Settings) -> str:
    return f"{settings.queue_prefix}{CHANNEL}"


def encode(topic: Topic, items: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"topic": topic.value, "items": items})


def decode(raw: bytes | str) -> tuple[Topic, list[dict[str, Any]]] | None:
    try:
        message = orjson.loads(raw)
        return Topic(message["topic"]), list(message["items"])
    except (orjson.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
        logger.warning("ignored a malformed live message: {}", exc)
        return None


def announce(deps: Deps, topic: Topic, items: list[dict[str, Any]]) -> None:
    """Publish after commit on the process's Redis client (`deps.redis`). Live delivery is
    best effort: a client that missed an event catches up from the database by cursor;
    other topics are re-read by their pages."""
    if not items:
        return
    try:
        deps.redis.publish(channel_name(deps.settings), encode(topic, items))
    except Exception as exc:
        logger.warning("live {} update not published: {}", topic.value, exc)


def announce_committed(session: Session, topic: Topic, items: list[dict[str, Any]]) -> None:
    """`announce` from a session's after-commit hook."""
    if not items:
        return
    deps = session_deps(session)
    if deps is None:  # no process client to publish on
        logger.warning(
            "live {} update not published: session committed outside a unit of work: "
            "nothing published",
            topic.value,
        )
        return
    announce(deps, topic, items)
