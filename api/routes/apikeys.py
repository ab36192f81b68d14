"""API keys for machines, managed by admins (`apikeys:admin`). A key is shown once, in
the answer that creates it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from api.auth.principal import Principal
from api.deps import SessionDep, require
from api.errors import ProblemError, error_responses
from api.models.auth import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from api.models.common import IdPath
from pipeline.auth import apikeys as service

router = APIRouter(prefix="/apikeys", tags=["apikeys"])
Admin = Annotated[Principal, Depends(require("apikeys:admin"))]
DENIED = error_responses(401, 403, 429)


@router.get("", responses=DENIED, summary="List API keys")
def list_keys(
    _: Admin,
    session: SessionDep,
    include_revoked: Annotated[bool, Query(description="Also revoked keys.")] = False,
) -> list[ApiKeyOut]:
    rows = service.list_keys(session, include_revoked=include_revoked)
    return [ApiKeyOut.model_validate(row) for row in rows]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={**DENIED, **error_responses(422)},
    summary="Create an API key (shown once)",
)
def create_key(body: ApiKeyCreate, admin: Admin, session: SessionDep) -> ApiKeyCreated:
    """A key gets only scopes its creator holds: a key cannot mint a stronger one."""
    created_by = admin.id if admin.kind == "staff" else None
    try:
        created = service.create_key_as(
            session, body.name, body.scopes, caller_scopes=admin.scopes, caller_staff_id=created_by
        )
    except service.KeyRefused as exc:
        raise ProblemError(403, "Forbidden", str(exc)) from None
    out = ApiKeyOut.model_validate(created.row)
    return ApiKeyCreated(**out.model_dump(), key=created.key)


@router.delete(
    "/{key_id}",
    status_code=204,
    responses={**DENIED, **error_responses(404)},
    summary="Revoke an API key",
)
def revoke_key(key_id: IdPath, _: Admin, session: SessionDep) -> Response:
    if service.revoke_key(session, key_id) is None:
        raise ProblemError(404, "Not Found", f"no API key {key_id}")
    return Response(status_code=204)
