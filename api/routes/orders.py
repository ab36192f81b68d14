"""Orders, payments and receipts: lists with filters, one order in full, refunds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy import select

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
from api.pagination import CursorQuery, LimitQuery, keyset
from pipeline.events.errors import PermanentError, TransientError
from pipeline.payments import refunds
from pipeline.telegram.api import NoBotToken, TelegramError
from schema.orders import Order, Payment, Receipt

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
    stmt = select(Order)
    if status:
        stmt = stmt.where(Order.status == status)
    if payment_method:
        stmt = stmt.where(Order.payment_method == payment_method)
    if user_id:
        stmt = stmt.where(Order.user_id == user_id)
    rows, next_cursor = keyset(session, stmt, Order.id, cursor, limit)
    return OrderPage(items=[OrderOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/orders/{public_id}",
    responses={**DENIED, **error_responses(404)},
    summary="Show an order with its payments and receipts",
)
def show_order(public_id: PublicId, _: Reader, session: SessionDep) -> OrderDetail:
    order = session.scalars(select(Order).where(Order.public_id == public_id)).first()
    if order is None:
        raise ProblemError(404, "Not Found", f"no order {public_id}")
    payments = list(session.scalars(select(Payment).where(Payment.order_id == order.id)))
    receipts = session.scalars(
        select(Receipt).where(Receipt.payment_id.in_([p.id for p in payments])).order_by(Receipt.id)
    )
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
    stmt = select(Payment)
    if provider:
        stmt = stmt.where(Payment.provider == provider)
    if status:
        stmt = stmt.where(Payment.status == status)
    rows, next_cursor = keyset(session, stmt, Payment.id, cursor, limit)
    return PaymentPage(items=[PaymentOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/receipts", responses={**DENIED, **error_responses(422)}, summary="List receipts")
def list_receipts(
    _: Reader,
    session: SessionDep,
    status: Short = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> ReceiptPage:
    stmt = select(Receipt)
    if status:
        stmt = stmt.where(Receipt.status == status)
    rows, next_cursor = keyset(session, stmt, Receipt.id, cursor, limit)
    return ReceiptPage(items=[ReceiptOut.model_validate(r) for r in rows], next_cursor=next_cursor)
