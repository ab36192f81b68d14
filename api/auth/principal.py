"""The authenticated caller of a request: a staff member (by access token or console
session) or a machine (by API key)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pipeline.auth.permissions import allows


@dataclass(frozen=True)
class Principal:
    kind: Literal["staff", "apikey"]
    id: int
    name: str  # the staff e-mail or the key's name
    role: str | None  # staff only
    scopes: frozenset[str]
    # The staff login session behind an access token or cookie (logout ends it).
    session_id: int | None = field(default=None, compare=False)

    def allows(self, scope: str) -> bool:
        return allows(self.scopes, scope)

    @property
    def rate_key(self) -> str:
        return f"{self.kind}:{self.id}"
