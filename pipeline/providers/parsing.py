"""Shared parsing and comparison helpers for provider modules."""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

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


# A NUL in a JSON string is accepted: the worker stores the raw bytes and escapes it in the
# parsed copy (pipeline/storable.py), so a signed event is never refused for its content.
def _storable_json(body: bytes) -> None:
    if not body.strip():
        raise MalformedBody("empty body: expected a JSON object")


def json_object(body: bytes) -> dict[str, Any]:
    """Parse a JSON object, with a message that says what is wrong."""
    _storable_json(body)
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


# Bounds a hostile form body: no provider sends anywhere near this many fields.
MAX_FORM_FIELDS = 500


def media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def form_fields(body: bytes) -> dict[str, str]:
    """Parse an application/x-www-form-urlencoded body strictly, one value per field."""
    if not body.strip():
        raise MalformedBody("empty body: expected form fields")
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedBody(f"body is not valid form data: {exc}") from None
    return unique_fields(pairs)


def unique_fields(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise MalformedBody(f"field {key!r} is given more than once")
        fields[key] = value
    return fields


def json_lexemes(body: bytes) -> dict[str, Any]:
    """A JSON object whose numbers stay the exact text the sender wrote (for signatures
    computed over values, where 1.10 and 1.1 differ)."""
    _storable_json(body)
    try:
        value = json.loads(body, parse_int=str, parse_float=str, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise MalformedBody(f"body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise MalformedBody(f"expected a JSON object, got {type(value).__name__}")
    _require_unicode(value)
    return value


def _require_unicode(value: Any) -> None:
    """The stdlib parser lets `"\\ud800"` through as a lone surrogate, which no hash or
    database can encode: refuse it while parsing, not later in a signature check."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise MalformedBody("JSON strings must be valid Unicode") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def text_field(fields: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    """A non-empty string field (numbers are accepted as their text)."""
    value = fields.get(name)
    if isinstance(value, bool | dict | list):
        raise MalformedBody(f"field {name!r} must be a string")
    if value is None or value == "":
        if required:
            raise MalformedBody(f"field {name!r} is required")
        return ""
    return str(value)


def digits(value: str, max_length: int = 20) -> bool:
    """ASCII digits only, 1 to `max_length` of them (str.isdigit also takes "²" and "١")."""
    return 0 < len(value) <= max_length and value.isascii() and value.isdigit()


def fully_matches(pattern: re.Pattern[str], value: object) -> bool:
    """`value` is a string the whole of which matches (`$` lets a final newline through)."""
    return isinstance(value, str) and pattern.fullmatch(value) is not None
