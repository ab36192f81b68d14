"""Signing initData as Telegram does, for `pipeline miniapp dev-link` and tests: a Mini App
opened in an ordinary browser against a local server, with a test bot token."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode


def data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash")


def sign_init_data(
    bot_token: str,
    user: dict[str, Any],
    *,
    auth_date: int | None = None,
    extra: dict[str, str] | None = None,
) -> str:
    """A query string with `user`, `auth_date`, `query_id` and the bot-token `hash`."""
    fields = {
        "query_id": "AAdev",
        "user": json.dumps(user, separators=(",", ":"), ensure_ascii=False),
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
        **(extra or {}),
    }
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(
        secret, data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    return urlencode(fields)
