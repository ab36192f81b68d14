"""API keys in call metadata (`x-api-key`, or `authorization: Bearer <key>`), checked
with the operator API's keys and scopes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy.orm import Session, sessionmaker

from grpc_api import errors
from pipeline.auth import apikeys
from pipeline.auth.permissions import allows
from pipeline.auth.secrets import sha256_hex
from pipeline.deps import Deps
from pipeline.unit_of_work import unit_of_work

CACHE_TTL_S = 5.0
CACHE_SIZE = 1000
Context: TypeAlias = Any  # grpc.aio.ServicerContext; grpcio ships no annotations


@dataclass(frozen=True)
class Caller:
    key_id: int
    name: str
    scopes: frozenset[str]


def credential(metadata: Sequence[tuple[str, str | bytes]] | None) -> str | None:
    for name, value in metadata or ():
        if isinstance(value, bytes):
            continue
        if name == "x-api-key":
            return value.strip()
        if name == "authorization":
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer":
                return token.strip()
    return None


def find_caller(sessions: sessionmaker[Session], deps: Deps, key: str) -> Caller | None:
    """Blocking: reads the key (and records its use) with the server's sessions and Deps."""
    with unit_of_work(sessions, deps) as uow:
        row = apikeys.find_key(uow.session, key)
        if row is None:
            return None
        return Caller(row.id, row.name, frozenset(row.scopes))


class KeyCache:
    """Keys verified in the last few seconds, by hash: a client making many small calls
    costs one database read per key and period, not one per call. A revoked key is
    refused at most `ttl_s` later."""

    def __init__(self, ttl_s: float = CACHE_TTL_S, size: int = CACHE_SIZE) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._found: dict[str, tuple[float, Caller]] = {}

    def get(self, digest: str) -> Caller | None:
        entry = self._found.get(digest)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, digest: str, caller: Caller) -> None:
        if len(self._found) >= self.size:
            self._found.clear()
        self._found[digest] = (time.monotonic() + self.ttl_s, caller)


async def authenticate(
    sessions: sessionmaker[Session], deps: Deps, key: str, cache: KeyCache
) -> Caller | None:
    digest = sha256_hex(key)
    caller = cache.get(digest)
    if caller is None:
        caller = await asyncio.to_thread(find_caller, sessions, deps, key)
        if caller is not None:  # unknown keys are not cached: they cost their sender
            cache.put(digest, caller)
    return caller


async def require(
    context: Context, sessions: sessionmaker[Session], deps: Deps, scope: str, cache: KeyCache
) -> Caller:
    """The caller, allowed `scope`; otherwise the call ends UNAUTHENTICATED or
    PERMISSION_DENIED."""
    key = credential(context.invocation_metadata())
    if not key:
        await errors.abort_status(
            context, errors.unauthenticated("an API key is needed (x-api-key metadata)")
        )
    caller = await authenticate(sessions, deps, key, cache)
    if caller is None:
        await errors.abort_status(context, errors.unauthenticated("unknown or revoked API key"))
    if not allows(caller.scopes, scope):
        await errors.abort_status(context, errors.permission_denied(scope))
    return caller
