"""Masking secrets in everything a process writes out.

Two layers. Secrets of a known shape (Telegram bot tokens, the credentials this project
issues, credential parameters of a URL) are masked by the pure `mask_shapes`, with no
configuration at all. The secret values of the running configuration are masked by a
`Redactor`: each process builds one from the settings its runtime reads (settings classes
derive from `HasSecrets` and list their values with `secret_values()`; building one has
no side effect) and hands that object to its log sinks, Sentry's `before_send`, the API's
error bodies, alert texts and stored error texts. A process that reads settings later
adds them to its Redactor itself (`Redactor.learn`). This is the last line; the first is
not putting secrets into messages at all.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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


def mask_shapes(text: str) -> str:
    """Secrets recognisable by their shape masked; needs no configuration."""
    if not text:
        return text
    return CREDENTIAL_PARAMETER.sub(rf"\1{MASK}", SHAPED.sub(MASK, text))


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


# Base for settings classes that hold secrets. (A comment, not a docstring: subclasses
# would inherit it into the configuration reference.)
class HasSecrets(BaseSettings):
    # A value that fails validation is not repeated in the error (it may be a secret, and
    # the error reaches a log or a terminal before any Redactor knows the value).
    model_config = SettingsConfigDict(hide_input_in_errors=True)

    def secret_values(self) -> list[str]:
        """The values of the `SecretStr` fields and the passwords of the `*_url` fields,
        for a `Redactor` to mask (it splits them into their pieces)."""
        found: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                found.append(value.get_secret_value())
            elif isinstance(value, str) and name.endswith("_url") and "@" in value:
                found.extend(_url_credentials(value))
        return [v for v in found if v]


class Redactor:
    """The secret values one process masks, with the shapes: one per process, built from
    the settings its runtime reads, and shared by everything that writes text out."""

    def __init__(self, *sources: HasSecrets | None) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None
        self.learn(*sources)

    def learn(self, *sources: HasSecrets | None) -> Redactor:
        """Add the secrets of settings objects (read after this Redactor was built)."""
        self.remember(*(v for s in sources if s is not None for v in s.secret_values()))
        return self

    def remember(self, *values: str | None) -> None:
        """Add secret values (each split into its pieces) to what is masked."""
        new = {p for v in values if v for p in _pieces(v) if len(p) >= MIN_SECRET_LENGTH}
        # As a JSON log line writes them: a quote, backslash or non-ASCII character is
        # escaped.
        new |= {json.dumps(p, ensure_ascii=a)[1:-1] for p in new for a in (True, False)}
        if new <= self._secrets:  # the usual case (a runtime's Deps re-teaching its settings)
            return
        with self._lock:
            if new <= self._secrets:
                return
            secrets = self._secrets | new
            # Longest first: a value that contains another is masked whole.
            ordered = sorted(secrets, key=len, reverse=True)
            # Pattern before set: a reader without the lock sees a pattern at least as new.
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
            self._secrets = secrets

    def known(self) -> frozenset[str]:
        return self._secrets

    def redact(self, text: str) -> str:
        if not text:
            return text
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        return mask_shapes(text)

    def redact_data(self, value: Any) -> Any:
        """`redact` applied to every string (and key) inside dicts, lists and tuples."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {self.redact_data(k): self.redact_data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.redact_data(v) for v in value)
        return value

    def stored_error(self, text: str, limit: int = STORED_ERROR_MAX_CHARS) -> str:
        """An error text as it may be stored (and shown in the API, the console, alerts):
        masked, then cut to `limit` characters (in this order, so a cut cannot leave the
        unmatched half of a secret)."""
        return self.redact(text)[:limit]
