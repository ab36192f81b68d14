"""The internal envelope: one accepted webhook as it travels from receiver to worker."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Envelope:
    provider: str
    external_id: str
    event_type: str
    body: bytes
    received_at: datetime
    headers: dict[str, str] = field(default_factory=dict)
    request_id: str = ""

    def to_message(self) -> dict[str, Any]:
        """JSON-safe form. UTF-8 bodies travel as text, anything else as base64."""
        message: dict[str, Any] = {
            "provider": self.provider,
            "external_id": self.external_id,
            "type": self.event_type,
            "received_at": self.received_at.timestamp(),
            "headers": self.headers,
            "request_id": self.request_id,
        }
        try:
            message["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            message["body_b64"] = base64.b64encode(self.body).decode("ascii")
        return message

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Envelope:
        if "body_b64" in message:
            body = base64.b64decode(message["body_b64"])
        else:
            body = str(message.get("body", "")).encode("utf-8")
        return cls(
            provider=str(message["provider"]),
            external_id=str(message["external_id"]),
            event_type=str(message.get("type") or "unknown"),
            body=body,
            received_at=datetime.fromtimestamp(float(message["received_at"]), tz=UTC),
            headers={str(k): str(v) for k, v in (message.get("headers") or {}).items()},
            request_id=str(message.get("request_id") or ""),
        )
