"""Checking the `initData` Telegram hands a Mini App (sent back as `Authorization: tma …`).

The signature is checked with aiogram's own helpers: the HMAC keyed by the bot token
(`aiogram.utils.web_app`) or, for a server without the token, Telegram's Ed25519
`signature` over the bot id (`aiogram.utils.web_app_signature`). Both parse with
`dict(parse_qsl(...))`, which keeps the last of repeated keys: repeated keys are refused
here first, so no field can be signed once and read as another value.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiogram.utils.web_app import WebAppInitData, WebAppUser, safe_parse_webapp_init_data
from aiogram.utils.web_app_signature import (
    PRODUCTION_PUBLIC_KEY,
    safe_check_webapp_init_data_from_signature,
)

from pipeline.settings import Settings

# Room for the clocks of Telegram's servers and ours to differ.
CLOCK_SKEW_S = 60


class InitDataError(ValueError):
    """initData that does not authenticate anybody; the message says why (no secrets)."""


@dataclass(frozen=True)
class Verifier:
    """How this server checks initData: by bot token, else by bot id and Telegram's key."""

    bot_token: str | None = None
    bot_id: int | None = None
    public_key: bytes = PRODUCTION_PUBLIC_KEY

    def __post_init__(self) -> None:
        if not self.bot_token and self.bot_id is None:
            raise ValueError("checking initData needs the bot token or the bot id")


def _unique_pairs(raw: str) -> None:
    try:
        pairs = parse_qsl(raw, strict_parsing=True)
    except ValueError:
        raise InitDataError("initData is not a query string") from None
    repeated = [k for k, n in Counter(k for k, _ in pairs).items() if n > 1]
    if repeated:
        raise InitDataError(f"initData repeats {', '.join(sorted(repeated))}")


def verify(raw: str, verifier: Verifier, max_age_s: float, now: float | None = None) -> WebAppUser:
    """The Telegram user initData vouches for, or InitDataError."""
    if not raw or len(raw) > 8192:
        raise InitDataError("initData is missing or too long")
    _unique_pairs(raw)
    data = _checked(raw, verifier)
    if data.user is None:
        raise InitDataError("initData names no user")
    age = (now if now is not None else time.time()) - data.auth_date.timestamp()
    if age > max_age_s or age < -CLOCK_SKEW_S:
        raise InitDataError("initData is too old; reopen the Mini App")
    return data.user


def _checked(raw: str, verifier: Verifier) -> WebAppInitData:
    try:
        if verifier.bot_token:
            if "hash=" not in raw:
                raise InitDataError("initData has no hash")
            return safe_parse_webapp_init_data(verifier.bot_token, raw, loads=json.loads)
        assert verifier.bot_id is not None  # __post_init__
        return safe_check_webapp_init_data_from_signature(verifier.bot_id, raw, verifier.public_key)
    except InitDataError:
        raise
    except (ValueError, TypeError):
        # Bad signature, bad base64 or a field of the wrong shape alike.
        raise InitDataError("initData signature is not valid") from None


def verifier(settings: Settings) -> Verifier | None:
    """None when neither the bot token nor the bot id is set: nobody can log in."""
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    if not token and settings.miniapp_bot_id is None:
        return None
    key = settings.miniapp_signature_public_key
    return Verifier(
        bot_token=token or None,
        bot_id=settings.miniapp_bot_id,
        public_key=bytes.fromhex(key) if key else PRODUCTION_PUBLIC_KEY,
    )
