"""Orders and payments: filtered lists, one order in full, and its refund."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from api.console.auth import Console, CsrfForm, require
from api.console.errors import ConsoleError
from api.console.flash import flash
from api.console.render import render
from api.deps import RuntimeDep, SessionDep, UnitOfWorkDep
from pipeline.backoffice import orders
from pipeline.backoffice.money import money
from pipeline.events.errors import PermanentError, TransientError
from pipeline.payments import refunds
from pipeline.telegram.api import NoBotToken, TelegramError

router = APIRouter(prefix="/admin", include_in_schema=False)
Viewer = Annotated[Console, Depends(require("orders:read"))]
Refunder = Annotated[Console, Depends(require("orders:write"))]
Short = Annotated[str | None, Query(max_length=64)]


@router.get("/orders")
def order_list(
    request: Request,
    console: Viewer,
    session: SessionDep,
    status: Short = None,
    method: Short = None,
    q: Short = None,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    where = orders.OrderFilter(status or None, method or None, q or None)
    rows, next_id = orders.list_orders(session, where, before)
    return render(
        request,
        "orders.html",
        console,
        active="orders",
        rows=rows,
        next_id=next_id,
        where=where,
        statuses=orders.STATUSES,
        methods=orders.methods(session),
        money=money,
    )


@router.get("/payments")
def payment_list(
    request: Request,
    console: Viewer,
    session: SessionDep,
    provider: Short = None,
    status: Short = None,
    mismatched: bool = False,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    where = orders.PaymentFilter(provider or None, status or None, mismatched)
    rows, next_id = orders.list_payments(session, where, before)
    return render(
        request, "payments.html", console, active="orders", rows=rows, next_id=next_id,
        where=where, statuses=orders.PAYMENT_STATUSES, providers=orders.providers(session),
        money=money,
    )  # fmt: skip


@router.get("/orders/{public_id}")
def order_page(request: Request, public_id: str, console: Viewer, session: SessionDep) -> Response:
    view = orders.order_view(session, public_id[:64])
    if view is None:
        raise ConsoleError(404, f"There is no order {public_id[:64]}.")
    return render(request, "order.html", console, active="orders", view=view, money=money)


@router.post("/orders/{public_id}/refund")
def refund(
    public_id: str,
    console: Refunder,
    _form: CsrfForm,
    uow: UnitOfWorkDep,
    runtime: RuntimeDep,
) -> Response:
    """The same refund as `POST /api/v1/orders/{id}/refund`: every provider's API."""
    try:
        status = refunds.refund_order(uow, public_id[:64], refunds.http_refund_clients(uow.deps))
    except refunds.RefundError as exc:
        raise ConsoleError(404 if str(exc).startswith("no order") else 409, str(exc)) from exc
    except (TelegramError, PermanentError, TransientError) as exc:
        raise ConsoleError(502, f"The provider did not refund: {exc}") from exc
    except NoBotToken as exc:
        raise ConsoleError(503, str(exc)) from exc
    if status in ("refunded", "partially_refunded"):
        flash(runtime, console, f"Refunded: the payment is {status.replace('_', ' ')}.")
    else:  # accepted; the provider's notification settles the payment
        flash(runtime, console, "Refund asked for: the provider confirms it shortly.", "info")
    return RedirectResponse(f"/admin/orders/{public_id[:64]}", status_code=303)
