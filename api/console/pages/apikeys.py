"""API keys for machines (admins only, `apikeys:admin`): create one with its scopes (the
whole key is shown once, on the answer to the form, and never again: only its hash is
stored), see when each was last used, revoke. A key gets only scopes its creator holds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from api.console.auth import Console, CsrfForm, require
from api.console.flash import flash
from api.console.render import render
from api.console.validation import FormInvalid, checked, path_id, sentence
from api.deps import RuntimeDep, SessionDep
from api.models.auth import ApiKeyCreate
from pipeline.auth import apikeys as service
from pipeline.auth.permissions import ADMIN_SCOPES, OPERATOR_SCOPES, READ_SCOPES

router = APIRouter(prefix="/admin/apikeys", include_in_schema=False)
Admin = Annotated[Console, Depends(require("apikeys:admin"))]
KeyId = Annotated[int, path_id("key_id", "API key")]
LABELS = {"name": "Name", "scopes": "Scopes"}
SCOPE_FIELD = "scope:"  # one checkbox per scope: `scope:events:read=on`
GROUPS = (("Read", READ_SCOPES), ("Act", OPERATOR_SCOPES), ("Manage", ADMIN_SCOPES))
HOME = "/admin/apikeys"


def _page(
    request: Request,
    console: Console,
    session: Session,
    *,
    show_revoked: bool = False,
    status: int = 200,
    error: str = "",
    created: service.CreatedKey | None = None,
    entered: dict[str, Any] | None = None,
) -> Response:
    groups = [
        (title, [s for s in scopes if console.can(s)]) for title, scopes in GROUPS
    ]  # only what the caller may grant
    return render(
        request, "apikeys.html", console, active="apikeys", status=status,
        rows=service.list_keys(session, include_revoked=show_revoked), show_revoked=show_revoked,
        groups=[g for g in groups if g[1]], error=error, created=created,
        entered=entered or {"name": "", "scopes": []},
    )  # fmt: skip


@router.get("")
def keys_page(request: Request, console: Admin, session: SessionDep, revoked: str = "") -> Response:
    return _page(request, console, session, show_revoked=revoked == "1")


@router.post("")
def create(request: Request, console: Admin, form: CsrfForm, session: SessionDep) -> Response:
    scopes = sorted(k.removeprefix(SCOPE_FIELD) for k in form if k.startswith(SCOPE_FIELD))
    entered = {"name": form.get("name", ""), "scopes": scopes}
    try:
        body = checked(ApiKeyCreate, entered, LABELS)
        created = service.create_key_as(
            session, body.name, body.scopes,
            caller_scopes=console.principal.scopes, caller_staff_id=console.principal.id,
        )  # fmt: skip
    except FormInvalid as exc:
        return _page(request, console, session, status=exc.status, error=exc.message,
                     entered=entered)  # fmt: skip
    except service.KeyRefused as exc:
        return _page(request, console, session, status=403, error=sentence(exc),
                     entered=entered)  # fmt: skip
    except ValueError as exc:  # an unknown scope or a blank name, as the service says
        return _page(request, console, session, status=422, error=sentence(exc),
                     entered=entered)  # fmt: skip
    # Rendered, not redirected: this answer is the one place the whole key ever appears.
    return _page(request, console, session, status=201, created=created)


@router.post("/{key_id}/revoke")
def revoke(
    request: Request,
    console: Admin,
    key_id: KeyId,
    _form: CsrfForm,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    row = service.revoke_key(session, key_id)
    if row is None:
        return _page(request, console, session, status=404, error=f"There is no API key {key_id}.")
    flash(runtime, console, f"Key {row.name} (pk_{row.prefix}_…) revoked.")
    return RedirectResponse(HOME, status_code=303)
