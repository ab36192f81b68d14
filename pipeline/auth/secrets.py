"""Random secrets and their stored forms.

API keys and refresh tokens carry 256 bits of randomness: a plain SHA-256 is enough to
store them. Login codes are six digits: they are stored as an HMAC keyed by the signing
key, so a copy of the table alone does not give them away by trying a million values.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def token(prefix: str) -> str:
    return f"{prefix}{secrets.token_urlsafe(32)}"


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def keyed_hash(key: str, *parts: str) -> str:
    message = "\x00".join(parts).encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def six_digits() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"
