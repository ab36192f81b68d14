"""API keys for machines: `pk_<prefix>_<secret>`, shown once, stored as prefix + SHA-256.

The prefix finds the row without scanning; the hash of the whole key is compared in
constant time. `last_used_at` is written at most once a minute per key, so a busy script
does not turn every read into a write.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from pipeline.auth import repository
from pipeline.auth.permissions import check_scopes
from pipeline.auth.secrets import same, sha256_hex
from schema.staff import ApiKey

KEY_PREFIX = "pk_"
LAST_USED_PRECISION = timedelta(seconds=60)


@dataclass(frozen=True)
class CreatedKey:
    row: ApiKey
    key: str  # the only time the whole key exists outside its owner's hands


def create_key(
    session: Session, name: str, scopes: Iterable[str], created_by: int | None = None
) -> CreatedKey:
    name = name.strip(" ")
    if not name:
        raise ValueError("an API key needs a name")
    granted = check_scopes(scopes)
    prefix = secrets.token_hex(5)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=sha256_hex(key),
        scopes=sorted(granted),
        created_by=created_by,
    )
    session.add(row)
    session.flush()
    return CreatedKey(row, key)


class KeyRefused(ValueError):
    """A key its creator may not make: a scope they do not hold themselves."""


def create_key_as(
    session: Session,
    name: str,
    scopes: Iterable[str],
    *,
    caller_scopes: frozenset[str],
    caller_staff_id: int | None,
) -> CreatedKey:
    """A key gets only scopes its creator holds: a key cannot mint a stronger one."""
    beyond = sorted(set(scopes) - caller_scopes)
    if beyond:
        raise KeyRefused(f"you cannot grant what you lack: {', '.join(beyond)}")
    return create_key(session, name, scopes, caller_staff_id)


def looks_like_key(value: str) -> bool:
    return value.startswith(KEY_PREFIX) and value.count("_") >= 2


def find_key(session: Session, key: str, *, now: datetime | None = None) -> ApiKey | None:
    """The active key this string is, marking it used; None for anything else."""
    if not looks_like_key(key):
        return None
    prefix = key[len(KEY_PREFIX) :].split("_", 1)[0]
    row = repository.api_key_by_prefix(session, prefix)
    if row is None or row.revoked_at is not None or not same(row.key_hash, sha256_hex(key)):
        return None
    now = now or datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
        row.last_used_at = now
    return row


def list_keys(session: Session, *, include_revoked: bool = False) -> Sequence[ApiKey]:
    return repository.api_keys(session, include_revoked=include_revoked)


def revoke_key(session: Session, key_id: int) -> ApiKey | None:
    row = session.get(ApiKey, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.flush()
    return row
