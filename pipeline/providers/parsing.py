"""Shared parsing and comparison helpers for provider modules."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from pipeline.providers.base import BadSignature, MalformedBody, WebhookRejected


def require_media_type(headers: Mapping[str, str], *expected: str) -> None:
    """415 unless the Content-Type is one of `expected` (parameters ignored)."""
    raw = headers.get("content-type", "")
    media = raw.split(";", 1)[0].strip().lower()
    if media not in expected:
        shown = raw or "none"
        raise WebhookRejected(
            415, f"expected Content-Type {' or '.join(expected)}, got {shown}", reason="media"
        )


def json_object(body: bytes) -> dict[str, Any]:
    """Parse a JSON object, with a message that says what is wrong."""
    if not body.strip():
        raise MalformedBody("empty body: expected a JSON object")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedBody(f"body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise MalformedBody(f"expected a JSON object, got {type(value).__name__}")
    return value


def required_header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower())
    if not value:
        raise BadSignature(f"missing {name} header")
    return value


def matches_any(candidate: str, secrets: Iterable[str]) -> bool:
    """Constant-time comparison against every current secret (rotation)."""
    given = candidate.encode()
    found = False
    for secret in secrets:
        # No early exit: the time taken does not depend on which secret matched.
        found |= hmac.compare_digest(given, secret.encode())
    return found
