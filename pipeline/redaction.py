"""Secret values, known to the process so that nothing it writes out can carry them.

Every settings class that holds a secret derives from `RemembersSecrets`: building it
records the values of its `SecretStr` fields (and the passwords inside its URL fields).
Log sinks and Sentry's `before_send` pass their text through `redact`, so a secret that
slips into an exception message or a header is replaced before it leaves the process.
This is the last line; the first is not putting secrets into messages at all.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings

MASK = "[redacted]"
# Shorter values are not searched for: they would mask ordinary words and numbers, and a
# secret that short is no secret anyway.
MIN_SECRET_LENGTH = 6
# Stored error texts (events, attempts, notifications, receipts, backups) are cut here.
STORED_ERROR_MAX_CHARS = 2000
# Secrets of a known shape, masked whether or not this process was configured with them:
# a Telegram bot token (`<bot id>:<35 characters>`, in Bot API URLs as `/bot<token>/`) of
# another bot, or one that reached a message before the settings were read.
# The credentials this project issues are shaped too: API keys (`pk_<prefix>_<secret>`),
# refresh tokens (`rt_`), console session cookies (`cs_`) and access tokens (JWTs).
SHAPED = re.compile(
    r"(?:(?<=bot)|(?<![A-Za-z0-9_:-]))[0-9]{5,}:[A-Za-z0-9_-]{30,}"
    r"|(?<![A-Za-z0-9_-])(?:pk_[0-9a-f]{10}_|rt_|cs_)[A-Za-z0-9_-]{40,}"
    r"|(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}"
)
# Credentials in a URL's query (uvicorn logs a WebSocket's path with its query string:
# `/api/v1/ws?token=…`): the value of a parameter named like one.
CREDENTIAL_PARAMETER = re.compile(
    r"([?&](?:token|access_token|refresh_token|api_key|apikey|key|secret|password"
    r"|signature|sig|hash|initData|tgWebAppData)=)[^&#\s\"'<>]+",
    re.IGNORECASE,
)

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def _pieces(value: str) -> Iterable[str]:
    """The value, each comma-separated rotation entry, and the password of a
    `name:password` entry (Flower users, terminal pairs) or the credentials of a URL
    (a Sentry DSN's key is its user name)."""
    yield value
    for part in (p.strip() for p in value.split(",")):
        yield part
        if "://" in part:
            yield from _url_credentials(part, user=True)
        elif ":" in part:
            yield part.split(":", 1)[1]


def _url_credentials(url: str, *, user: bool = False) -> Iterable[str]:
    """The password of a URL (as written and decoded), and its user name if asked."""
    try:
        parts = urlsplit(url)
        password, username = parts.password, parts.username
    except ValueError:
        return
    if password:
        yield password
        yield unquote(password)
    if user and username:
        yield username


def remember(*values: str | None) -> None:
    """Add secret values to the set every output is redacted against."""
    global _pattern
    new = {p for v in values if v for p in _pieces(v) if len(p) >= MIN_SECRET_LENGTH}
    # As a JSON log line writes them: a quote, backslash or non-ASCII character is escaped.
    new |= {json.dumps(p, ensure_ascii=a)[1:-1] for p in new for a in (True, False)}
    with _lock:
        if new <= _secrets:
            return
        _secrets.update(new)
        # Longest first: a value that contains another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def known() -> frozenset[str]:
    return frozenset(_secrets)


def redact(text: str) -> str:
    if not text:
        return text
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return CREDENTIAL_PARAMETER.sub(rf"\1{MASK}", SHAPED.sub(MASK, text))


def stored_error(text: str, limit: int = STORED_ERROR_MAX_CHARS) -> str:
    """An error text as it may be stored (and shown in the API, the console, alerts):
    masked, then cut to `limit` characters (in this order, so a cut cannot leave the
    unmatched half of a secret)."""
    return redact(text)[:limit]


def redact_data(value: Any) -> Any:
    """`redact` applied to every string (and key) inside dicts, lists and tuples."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_data(k): redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_data(v) for v in value)
    return value


# Base for settings classes: their secrets are remembered as soon as they are read. (A
# comment, not a docstring: subclasses would inherit it into the configuration reference.)
class RemembersSecrets(BaseSettings):
    @model_validator(mode="after")
    def _remember_secrets(self) -> Self:
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                remember(value.get_secret_value())
            elif isinstance(value, str) and name.endswith("_url") and "@" in value:
                remember(*_url_credentials(value))
        return self
