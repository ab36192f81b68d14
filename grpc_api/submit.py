"""Submitted events: checked here, handed to the receiver's batching publisher, answered
once the broker holds them. Workers store them once per (source, external_id)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import orjson

from grpc_api.v1 import pipeline_pb2 as pb
from pipeline.envelope import Envelope
from pipeline.events.internal import NotAnObject, parse_payload
from pipeline.storable import EXTERNAL_ID_MAX, TYPE_MAX, bounded, valid_request_id

# One submitted payload at most (the receiver's default body limit is the same order).
PAYLOAD_MAX = 1024 * 1024


class Invalid(ValueError):
    def __init__(self, field: str, description: str) -> None:
        super().__init__(f"{field}: {description}")
        self.field = field
        self.description = description


def _printable(value: str) -> bool:
    return bool(value) and value.isprintable()


def envelope(
    request: pb.SubmitEventRequest, sources: Mapping[str, str], request_id: str
) -> Envelope:
    """The envelope of one submitted event, or Invalid naming the field."""
    if request.source not in sources:
        raise Invalid("source", f"{request.source!r} is not a declared internal source")
    if not _printable(request.external_id):
        raise Invalid("external_id", "must be non-empty printable text")
    if not _printable(request.type):
        raise Invalid("type", "must be non-empty printable text")
    if len(request.payload) > PAYLOAD_MAX:
        raise Invalid("payload", f"exceeds {PAYLOAD_MAX} bytes")
    try:
        parse_payload(request.payload)
    except (orjson.JSONDecodeError, NotAnObject) as exc:
        raise Invalid("payload", f"must be a JSON object ({exc})") from None
    return Envelope(
        provider=request.source,
        external_id=bounded(request.external_id, EXTERNAL_ID_MAX),
        event_type=bounded(request.type, TYPE_MAX),
        body=request.payload,
        received_at=datetime.now(UTC),
        request_id=valid_request_id(request.request_id) or request_id,
    )
