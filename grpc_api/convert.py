"""Event rows and live change items as protobuf messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from google.protobuf.timestamp_pb2 import Timestamp

from grpc_api.v1 import pipeline_pb2 as pb
from schema.events import Event


def timestamp(value: datetime | str | None) -> Timestamp | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def event_message(event: Event, *, full: bool = False) -> pb.Event:
    message = pb.Event(
        id=event.id,
        source=event.source,
        type=event.type,
        external_id=event.external_id,
        status=event.status,
        attempts=event.attempts,
        received_at=timestamp(event.received_at),
        processed_at=timestamp(event.processed_at),
        last_error=event.last_error or "",
    )
    if full:
        message.duplicates = event.duplicates
        message.request_id = event.request_id or ""
        if event.payload is not None:
            message.payload = orjson.dumps(event.payload)
    return message


def change_message(item: dict[str, Any]) -> pb.EventChange:
    """A change as pipeline.live publishes it (and `changes_since` reads it back)."""
    return pb.EventChange(
        cursor=item["cursor"],
        event=pb.Event(
            id=item["id"],
            source=item["source"],
            type=item["type"],
            external_id=item["external_id"],
            status=item["status"],
            attempts=item["attempts"],
            received_at=timestamp(item["received_at"]),
            processed_at=timestamp(item["processed_at"]),
            last_error=item["last_error"] or "",
        ),
    )
