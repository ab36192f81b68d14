"""Providers: one module each, registered in `pipeline.providers.registry`."""

from pipeline.providers.base import (
    Accepted,
    BadSignature,
    Forbidden,
    InboundRequest,
    MalformedBody,
    NotConfigured,
    Provider,
    RepliesToRejections,
    Reply,
    WebhookRejected,
)

__all__ = [
    "Accepted",
    "BadSignature",
    "Forbidden",
    "InboundRequest",
    "MalformedBody",
    "NotConfigured",
    "Provider",
    "RepliesToRejections",
    "Reply",
    "WebhookRejected",
]
