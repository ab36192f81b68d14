"""Staff accounts, managed by admins (`staff:admin`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from api.auth.principal import Principal
from api.deps import SessionDep, require
from api.errors import ProblemError, error_responses
from api.models.auth import StaffCreate, StaffOut, StaffUpdate
from api.models.common import IdPath
from pipeline.auth import staff as service
from schema.staff import StaffUser

router = APIRouter(prefix="/staff", tags=["staff"])
Admin = Annotated[Principal, Depends(require("staff:admin"))]
DENIED = error_responses(401, 403, 429)


def _refused(exc: service.StaffError) -> ProblemError:
    return ProblemError(exc.status, None, str(exc))


def _get(session: SessionDep, staff_id: int) -> StaffUser:
    try:
        return service.get_staff(session, staff_id)
    except service.StaffError as exc:
        raise _refused(exc) from None


@router.get("", responses=DENIED, summary="List staff accounts")
def list_staff(_: Admin, session: SessionDep) -> list[StaffOut]:
    return [StaffOut.model_validate(row) for row in service.list_staff(session)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={**DENIED, **error_responses(409, 422)},
    summary="Add a staff account",
)
def add_staff(body: StaffCreate, admin: Admin, session: SessionDep) -> StaffOut:
    try:
        service.may_grant(admin.scopes, body.role)
        row = service.add_staff(session, body.email, body.role)
    except service.StaffError as exc:
        raise _refused(exc) from None
    return StaffOut.model_validate(row)


@router.get("/{staff_id}", responses={**DENIED, **error_responses(404)}, summary="One account")
def get_staff(staff_id: IdPath, _: Admin, session: SessionDep) -> StaffOut:
    return StaffOut.model_validate(_get(session, staff_id))


@router.patch(
    "/{staff_id}",
    responses={**DENIED, **error_responses(404, 409, 422)},
    summary="Change a role, or (de)activate an account",
)
def update_staff(
    staff_id: IdPath, body: StaffUpdate, admin: Admin, session: SessionDep
) -> StaffOut:
    """Deactivating an account ends all its sessions. Admins cannot demote or deactivate
    themselves, so the last admin cannot lock everyone out by mistake."""
    try:
        service.may_grant(admin.scopes, body.role)
        row = service.get_staff(session, staff_id)
        caller = admin.id if admin.kind == "staff" else None
        service.change_staff(
            session, row, caller_id=caller, caller_scopes=admin.scopes,
            role=body.role, active=body.active,
        )  # fmt: skip
    except service.StaffError as exc:
        raise _refused(exc) from None
    return StaffOut.model_validate(row)


@router.delete(
    "/{staff_id}/sessions",
    status_code=204,
    responses={**DENIED, **error_responses(404)},
    summary="End every session of an account",
)
def revoke_sessions(staff_id: IdPath, _: Admin, session: SessionDep) -> Response:
    service.revoke_all_sessions(session, _get(session, staff_id).id, "admin")
    return Response(status_code=204)
