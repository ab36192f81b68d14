"""Making what the receiver accepts storable in PostgreSQL, with one rule per kind.

- Text columns cannot hold NUL, and UTF-8 cannot encode a lone surrogate: both are
  written as the JSON escape text (`\\u0000`, `\\ud800`), so nothing is silently lost.
- Bounded columns (`String(n)`): a longer value keeps its first characters and ends
  with `~` and 16 hex digits of the whole value's SHA-256, so two long values that share
  a prefix stay different (external ids are dedup keys).
- `X-Request-ID` must match `[A-Za-z0-9._-]{1,64}`; anything else is replaced.
- The parsed JSON payload gets the text rule in every key and string; the raw body is
  kept as the bytes that arrived.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

from schema.events import Event

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_HASH_CHARS = 16
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")


def valid_request_id(value: str | None) -> str | None:
    return value if value is not None and REQUEST_ID.fullmatch(value) else None


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def storable_text(value: str) -> str:
    """`value` with NUL and lone surrogates written as their escape text."""
    if "\x00" not in value and (value.isascii() or not _BAD_CHARS.search(value)):
        return value
    return _BAD_CHARS.sub(_escape, value)


def bounded(value: str, limit: int) -> str:
    """Storable text of at most `limit` characters (see the module docstring)."""
    value = storable_text(value)
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    return f"{value[: limit - _HASH_CHARS - 1]}~{digest}"


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable_text(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def storable_json(value: Any) -> Any:
    """The payload as jsonb can hold it. One orjson pass finds the common case (nothing
    to change); only a payload with NUL or a lone surrogate is walked and rewritten."""
    try:
        encoded = orjson.dumps(value)
    except TypeError:  # lone surrogates (or a type orjson cannot write): walk it
        return _clean(value)
    return _clean(value) if b"\\u0000" in encoded else value


def storable_headers(headers: dict[str, str]) -> dict[str, str]:
    return {storable_text(k): storable_text(v) for k, v in headers.items()}


def column_limit(column: Any) -> int:
    """The `n` of a `String(n)` column."""
    length = column.type.length
    assert isinstance(length, int)
    return length


# The bounded columns an envelope fills, from the model itself.
SOURCE_MAX = column_limit(Event.__table__.c.source)
TYPE_MAX = column_limit(Event.__table__.c.type)
EXTERNAL_ID_MAX = column_limit(Event.__table__.c.external_id)
