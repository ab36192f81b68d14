"""Short-lived access tokens: HS256 JWTs naming the staff account and its login session.

The session is looked up on every request (see `sessions.active_session`), so logout,
"log out everywhere", a deactivated account or a changed role take effect at once
rather than when the token expires.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from pipeline.auth.secrets import keyed_hash

ISSUER = "pipeline-api"
ALGORITHM = "HS256"
MIN_KEY_LENGTH = 32
# Values people leave in example files: refused as signing keys.
PLACEHOLDER_MARKS = ("change", "example", "placeholder", "secret", "replace")


class UnsafeSigningKey(RuntimeError):
    pass


def check_signing_key(value: str | None) -> str:
    """The key, or UnsafeSigningKey saying why it may not sign tokens."""
    if not value or not value.strip():
        raise UnsafeSigningKey("API_JWT_SECRET is empty: set a random value of 32+ characters")
    lowered = value.lower()
    if len(value) < MIN_KEY_LENGTH or any(mark in lowered for mark in PLACEHOLDER_MARKS):
        raise UnsafeSigningKey(
            "API_JWT_SECRET looks like a placeholder or is shorter than 32 characters; "
            "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    return value


@dataclass(frozen=True)
class AccessClaims:
    staff_id: int
    session_id: int
    expires_at: int


class TokenSigner:
    def __init__(self, key: str, ttl_s: int) -> None:
        self._secret = check_signing_key(key)
        self._key = OctKey.import_key(self._secret)
        self.ttl_s = ttl_s

    def derive(self, purpose: str) -> str:
        """A key for another use (login-code hashes), independent of the signing key."""
        return keyed_hash(self._secret, purpose)

    def issue(self, staff_id: int, session_id: int, *, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": ISSUER,
            "sub": str(staff_id),
            "sid": session_id,
            "iat": issued,
            "exp": issued + self.ttl_s,
            "typ": "access",
        }
        return jwt.encode({"alg": ALGORITHM}, claims, self._key, algorithms=[ALGORITHM])

    def verify(self, token: str, *, now: float | None = None) -> AccessClaims | None:
        try:
            decoded = jwt.decode(token, self._key, algorithms=[ALGORITHM])
            registry = jwt.JWTClaimsRegistry(
                now=int(now) if now is not None else None,
                leeway=5,
                iss={"essential": True, "value": ISSUER},
                exp={"essential": True},
                sub={"essential": True},
                typ={"essential": True, "value": "access"},
            )
            registry.validate(decoded.claims)
            claims = decoded.claims
            return AccessClaims(int(claims["sub"]), int(claims["sid"]), int(claims["exp"]))
        except (JoseError, ValueError, KeyError, TypeError):
            return None


def looks_like_jwt(value: str) -> bool:
    return value.count(".") == 2
