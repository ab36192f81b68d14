"""Staff accounts (admins only, `staff:admin`): add one with a role, change a role,
deactivate or reactivate, end every session of an account (console cookies and API
refresh tokens alike: both hang off its login sessions). The rules are the API's
(`pipeline.auth.staff`): no role beyond the caller's own, no admin demoting or
deactivating themselves."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from api.console.auth import Console, CsrfForm, require
from api.console.flash import flash
from api.console.render import render
from api.console.validation import FormInvalid, checked, path_id, sentence
from api.deps import RuntimeDep, SessionDep
from api.models.auth import StaffCreate, StaffUpdate
from pipeline.auth import staff as service
from pipeline.auth.permissions import ROLE_NAMES

router = APIRouter(prefix="/admin/staff", include_in_schema=False)
Admin = Annotated[Console, Depends(require("staff:admin"))]
StaffId = Annotated[int, path_id("staff_id", "staff account")]
LABELS = {"email": "E-mail", "role": "Role", "active": "Active"}
HOME = "/admin/staff"


def _page(
    request: Request,
    console: Console,
    session: Session,
    *,
    error: str = "",
    status: int = 200,
    entered: dict[str, str] | None = None,
) -> Response:
    return render(
        request, "staff.html", console, active="staff", status=status,
        rows=service.list_staff(session), open_sessions=service.active_session_counts(session),
        roles=ROLE_NAMES, error=error, entered=entered or {"email": "", "role": "operator"},
    )  # fmt: skip


@router.get("")
def staff_page(request: Request, console: Admin, session: SessionDep) -> Response:
    return _page(request, console, session)


@router.post("")
def add(
    request: Request, console: Admin, form: CsrfForm, session: SessionDep, runtime: RuntimeDep
) -> Response:
    entered = {"email": form.get("email", "").strip(), "role": form.get("role", "")}
    try:
        body = checked(StaffCreate, entered, LABELS)
        service.may_grant(console.principal.scopes, body.role)
        row = service.add_staff(session, body.email, body.role)
    except FormInvalid as exc:
        return _page(request, console, session, error=exc.message, status=exc.status,
                     entered=entered)  # fmt: skip
    except service.StaffError as exc:
        return _page(request, console, session, error=sentence(exc), status=exc.status,
                     entered=entered)  # fmt: skip
    flash(runtime, console, f"{row.email} added as {row.role}.")
    return RedirectResponse(HOME, status_code=303)


def _change(
    request: Request,
    console: Console,
    session: Session,
    runtime: RuntimeDep,
    staff_id: int,
    fields: dict[str, object],
    done: str,
) -> Response:
    try:
        body = checked(StaffUpdate, fields, LABELS)
        row = service.get_staff(session, staff_id)
        service.change_staff(
            session, row, caller_id=console.principal.id, caller_scopes=console.principal.scopes,
            role=body.role, active=body.active,
        )  # fmt: skip
    except FormInvalid as exc:
        return _page(request, console, session, error=exc.message, status=exc.status)
    except service.StaffError as exc:
        return _page(request, console, session, error=sentence(exc), status=exc.status)
    flash(runtime, console, done.format(email=row.email, role=row.role))
    return RedirectResponse(HOME, status_code=303)


@router.post("/{staff_id}/role")
def change_role(
    request: Request,
    console: Admin,
    staff_id: StaffId,
    form: CsrfForm,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    fields: dict[str, object] = {"role": form.get("role", "")}
    return _change(request, console, session, runtime, staff_id, fields, "{email} is now {role}.")


@router.post("/{staff_id}/active")
def set_active(
    request: Request,
    console: Admin,
    staff_id: StaffId,
    form: CsrfForm,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    active = form.get("active") == "1"
    done = "{email} can log in again." if active else "{email} is deactivated and logged out."
    return _change(request, console, session, runtime, staff_id, {"active": active}, done)


@router.post("/{staff_id}/sessions/revoke")
def revoke_sessions(
    request: Request,
    console: Admin,
    staff_id: StaffId,
    _form: CsrfForm,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    try:
        row = service.get_staff(session, staff_id)
    except service.StaffError as exc:
        return _page(request, console, session, error=sentence(exc), status=exc.status)
    ended = service.revoke_all_sessions(session, row.id, "admin")
    if row.id == console.principal.id:  # this very session ended too
        return RedirectResponse("/admin/login", status_code=303)
    flash(runtime, console, f"{ended} session(s) of {row.email} ended.")
    return RedirectResponse(HOME, status_code=303)
