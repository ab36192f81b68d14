"""Orders, payments and receipts: lists with filters, one order in full, refunds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.auth.principal import Principal
from api.deps import SessionDep, UnitOfWorkDep, require
from api.errors import ProblemError, error_responses
from api.models.orders import (
    OrderDetail,
    OrderOut,
    OrderPage,
    PaymentOut,
    PaymentPage,
    ReceiptOut,
    ReceiptPage,
    RefundResult,
)
from api.pagination import CursorQuery, LimitQuery, keyset_page
from pipeline.backoffice import repository
from pipeline.backoffice.repository import OrderFilter, PaymentFilter
from pipeline.events.errors import PermanentError, TransientError
from pipeline.payments import refunds
from pipeline.payments.repository import order_by_public_id
from pipeline.telegram.api import NoBotToken, TelegramError

router = APIRouter(tags=["orders"])
Reader = Annotated[Principal, Depends(require("orders:read"))]
Writer = Annotated[Principal, Depends(require("orders:write"))]
DENIED = error_responses(401, 403, 429)
PublicId = Annotated[str, Path(min_length=1, max_length=64, examples=["o-3f2a9c1b7d0e"])]
Short = Annotated[str | None, Query(max_length=32)]


@router.get("/orders", responses={**DENIED, **error_responses(422)}, summary="List orders")
def list_orders(
    _: Reader,
    session: SessionDep,
    status: Short = None,
    payment_method: Short = None,
    user_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> OrderPage:
    where = OrderFilter(status=status, method=payment_method, user_id=user_id)
    found = repository.search_orders(session, where, cursor, limit + 1)
    rows, next_cursor = keyset_page([order for order, _, _ in found], limit)
    return OrderPage(items=[OrderOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/orders/{public_id}",
    responses={**DENIED, **error_responses(404)},
    summary="Show an order with its payments and receipts",
)
def show_order(public_id: PublicId, _: Reader, session: SessionDep) -> OrderDetail:
    order = order_by_public_id(session, public_id)
    if order is None:
        raise ProblemError(404, "Not Found", f"no order {public_id}")
    payments = repository.payments_of_order(session, order.id)
    receipts = repository.receipts_of_payments(session, [p.id for p in payments])
    return OrderDetail(
        **OrderOut.model_validate(order).model_dump(),
        payment_url=order.payment_url,
        payments=[PaymentOut.model_validate(p) for p in payments],
        receipts=[ReceiptOut.model_validate(r) for r in receipts],
    )


@router.post(
    "/orders/{public_id}/refund",
    responses={**DENIED, **error_responses(404, 409, 502, 503)},
    summary="Refund an order",
)
def refund_order(public_id: PublicId, _: Writer, uow: UnitOfWorkDep) -> RefundResult:
    """Stars through refundStarPayment; YooKassa, Stripe, CloudPayments, T-Bank and
    Robokassa through their refund APIs (the same clients as `pipeline orders refund`).
    409 when the order cannot be refunded here, 502 when the provider refused or failed,
    503 when the bot's token is not set for a Stars refund."""
    try:
        status = refunds.refund_order(uow, public_id, refunds.http_refund_clients(uow.deps))
    except refunds.RefundError as exc:
        status_code = 404 if str(exc).startswith("no order") else 409
        raise ProblemError(status_code, detail=str(exc)) from exc
    except (TelegramError, PermanentError, TransientError) as exc:
        raise ProblemError(502, "Bad Gateway", f"the provider did not refund: {exc}") from exc
    except NoBotToken as exc:
        raise ProblemError(503, "Service Unavailable", str(exc)) from exc
    return RefundResult(order=public_id, payment_status=status)


@router.get("/payments", responses={**DENIED, **error_responses(422)}, summary="List payments")
def list_payments(
    _: Reader,
    session: SessionDep,
    provider: Short = None,
    status: Short = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> PaymentPage:
    where = PaymentFilter(provider=provider, status=status)
    found = repository.search_payments(session, where, cursor, limit + 1)
    rows, next_cursor = keyset_page([payment for payment, _ in found], limit)
    return PaymentPage(items=[PaymentOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/receipts", responses={**DENIED, **error_responses(422)}, summary="List receipts")
def list_receipts(
    _: Reader,
    session: SessionDep,
    status: Short = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> ReceiptPage:
    found = repository.search_receipts(session, status, cursor, limit + 1)
    rows, next_cursor = keyset_page(found, limit)
    return ReceiptPage(items=[ReceiptOut.model_validate(r) for r in rows], next_cursor=next_cursor)
