"""API keys in call metadata (`x-api-key`, or `authorization: Bearer <key>`), checked
with the operator API's keys and scopes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy.orm import Session, sessionmaker

from grpc_api import errors
from pipeline.auth import apikeys
from pipeline.auth.permissions import allows
from pipeline.unit_of_work import unit_of_work

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


def find_caller(sessions: sessionmaker[Session], key: str) -> Caller | None:
    """Blocking: reads the key (and records its use)."""
    with unit_of_work(sessions) as uow:
        row = apikeys.find_key(uow.session, key)
        if row is None:
            return None
        return Caller(row.id, row.name, frozenset(row.scopes))


async def require(context: Context, sessions: sessionmaker[Session], scope: str) -> Caller:
    """The caller, allowed `scope`; otherwise the call ends UNAUTHENTICATED or
    PERMISSION_DENIED."""
    key = credential(context.invocation_metadata())
    if not key:
        await errors.abort_status(
            context, errors.unauthenticated("an API key is needed (x-api-key metadata)")
        )
    caller = await asyncio.to_thread(find_caller, sessions, key)
    if caller is None:
        await errors.abort_status(context, errors.unauthenticated("unknown or revoked API key"))
    if not allows(caller.scopes, scope):
        await errors.abort_status(context, errors.permission_denied(scope))
    return caller
