"""What a provider is: how its webhooks are authenticated, parsed and answered.

A provider runs in two places. In the receiver, `accept()` verifies a raw request and
extracts the dedup key and event type, fast and without I/O. In the worker,
`payload()` turns the stored raw body into the JSON stored in `events.payload`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol, runtime_checkable


class WebhookRejected(Exception):
    """The request is not accepted; the receiver answers `status` with `detail`."""

    def __init__(self, status: int, detail: str, *, reason: str = "rejected") -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.reason = reason


class BadSignature(WebhookRejected):
    def __init__(self, detail: str) -> None:
        super().__init__(401, detail, reason="signature")


class Forbidden(WebhookRejected):
    def __init__(self, detail: str) -> None:
        super().__init__(403, detail, reason="forbidden")


class MalformedBody(WebhookRejected):
    def __init__(self, detail: str) -> None:
        super().__init__(400, detail, reason="malformed")


class NotConfigured(WebhookRejected):
    def __init__(self, provider: str) -> None:
        super().__init__(404, f"provider {provider!r} is not configured", reason="unconfigured")


@dataclass(frozen=True, slots=True)
class InboundRequest:
    """A webhook request as the receiver saw it. Header names are lower-case."""

    provider: str
    method: str
    path: str
    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str]
    client_ip: str | None
    received_at: datetime
    subpath: str = ""


@dataclass(frozen=True, slots=True)
class Accepted:
    """A verified request: what the worker needs to store and route it."""

    external_id: str
    event_type: str
    # Headers kept with the event (signature headers, delivery ids) for audit.
    headers: Mapping[str, str] = field(default_factory=dict)
    # Provider-specific data the success answer depends on (for example InvId).
    reply_context: Mapping[str, str] = field(default_factory=dict)
    # What to store instead of the raw body, when that is not where the data is
    # (a GET notification carries it in the query string).
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: bytes = b'{"ok":true}'
    media_type: str = "application/json"


@runtime_checkable
class Provider(Protocol):
    name: ClassVar[str]
    # Which HTTP methods the provider uses for its webhooks.
    methods: ClassVar[tuple[str, ...]]
    # Human-readable list of what is checked, shown by `pipeline providers list`.
    verifies: ClassVar[str]

    def configured(self) -> bool: ...

    def accept(self, request: InboundRequest) -> Accepted:
        """Verify and parse; raise `WebhookRejected` for anything not acceptable."""
        ...

    def reply(self, accepted: Accepted) -> Reply: ...

    def payload(self, body: bytes, headers: Mapping[str, str]) -> dict[str, object]:
        """The stored JSON form of a raw body (run in the worker)."""
        ...


@runtime_checkable
class RepliesToRejections(Protocol):
    """Optional: a provider that expects rejections in its own format (CloudPayments reads a
    `code` from the body). Return None to use the receiver's default error answer."""

    def rejection(self, request: InboundRequest, error: WebhookRejected) -> Reply | None: ...
