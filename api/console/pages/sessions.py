"""The caller's own login sessions (console and API alike), each of which can be ended."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from api.console.auth import ConsoleDep, CsrfForm
from api.console.errors import ConsoleError
from api.console.flash import flash
from api.console.render import render
from api.deps import RuntimeDep, SessionDep
from pipeline.auth import sessions
from schema.staff import StaffSession

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("/sessions")
def my_sessions(request: Request, console: ConsoleDep, session: SessionDep) -> Response:
    rows = sessions.list_sessions(session, console.principal.id)
    return render(
        request,
        "sessions.html",
        console,
        active="sessions",
        rows=rows,
        current=console.principal.session_id,
    )


@router.post("/sessions/{session_id}/revoke")
def revoke(
    session_id: int,
    console: ConsoleDep,
    _form: CsrfForm,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    login = session.get(StaffSession, session_id)
    if login is None or login.staff_id != console.principal.id or login.revoked_at is not None:
        raise ConsoleError(404, f"You have no active session {session_id}.")
    sessions.revoke_session(session, login, "logout")
    if session_id == console.principal.session_id:
        return RedirectResponse("/admin/login", status_code=303)
    flash(runtime, console, f"Session {session_id} ended.")
    return RedirectResponse("/admin/sessions", status_code=303)
