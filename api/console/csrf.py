"""CSRF tokens: an HMAC of the cookie the request is bound to (the session, or the login
form's cookie before login), keyed by a key derived from the API's signing key.

Nothing is stored: the token is recomputed and compared in constant time. Pages put it in
a meta tag and in every form; htmx sends it as `X-CSRF-Token` (hx-headers on <body>).
"""

from __future__ import annotations

from pipeline.auth.secrets import keyed_hash, same

HEADER = "x-csrf-token"
FIELD = "csrf_token"
PURPOSE = "console-csrf"


def token_for(key: str, binding: str) -> str:
    return keyed_hash(key, PURPOSE, binding)


def valid(key: str, binding: str | None, presented: str | None) -> bool:
    if not binding or not presented or len(presented) > 128:
        return False
    return same(token_for(key, binding), presented)
