"""Customers (bot users): search, one customer's language, orders and feedback thread,
and block (a ban, with a reason) or unblock."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from api.console.auth import Console, CsrfForm, require
from api.console.errors import ConsoleError
from api.console.flash import flash
from api.console.render import render
from api.deps import RuntimeDep, SessionDep
from pipeline.backoffice import customers
from pipeline.backoffice.money import money
from pipeline.shop import blocking
from schema.users import User

router = APIRouter(prefix="/admin", include_in_schema=False)
Viewer = Annotated[Console, Depends(require("users:read"))]
Blocker = Annotated[Console, Depends(require("users:write"))]
UserId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/customers")
def customer_list(
    request: Request,
    console: Viewer,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=64)] = None,
    show: Annotated[str | None, Query(pattern="^(all|blocked|unblocked)$")] = None,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    blocked = {"blocked": True, "unblocked": False}.get(show or "all")
    where = customers.CustomerFilter(q or None, blocked)
    rows, next_id = customers.search(session, where, before)
    return render(
        request, "customers.html", console, active="customers",
        rows=rows, next_id=next_id, q=q or "", show=show or "all",
    )  # fmt: skip


@router.get("/customers/{user_id}")
def customer_page(
    request: Request, user_id: UserId, console: Viewer, session: SessionDep
) -> Response:
    view = customers.customer_view(session, user_id)
    if view is None:
        raise ConsoleError(404, f"There is no customer {user_id}.")
    return render(
        request, "customer.html", console, active="customers", view=view, money=money,
        reason_max=blocking.REASON_MAX,
    )  # fmt: skip


def _found(session: SessionDep, user_id: int) -> User:
    user = customers.for_update(session, user_id)
    if user is None:
        raise ConsoleError(404, f"There is no customer {user_id}.")
    return user


@router.post("/customers/{user_id}/block")
def block(
    user_id: UserId, console: Blocker, form: CsrfForm, session: SessionDep, runtime: RuntimeDep
) -> Response:
    reason = form.get("reason", "")
    if len(reason) > blocking.REASON_MAX:
        raise ConsoleError(422, f"The reason is longer than {blocking.REASON_MAX} characters.")
    blocking.block(_found(session, user_id), console.principal.name, reason)
    flash(runtime, console, "Blocked: the bot ignores them and sends them nothing.")
    return RedirectResponse(f"/admin/customers/{user_id}", status_code=303)


@router.post("/customers/{user_id}/unblock")
def unblock(
    user_id: UserId, console: Blocker, _form: CsrfForm, session: SessionDep, runtime: RuntimeDep
) -> Response:
    blocking.unblock(_found(session, user_id))
    flash(runtime, console, "Unblocked.")
    return RedirectResponse(f"/admin/customers/{user_id}", status_code=303)
