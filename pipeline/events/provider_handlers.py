"""Handlers of the built-in payment providers and cash registers.

Each normalizes the stored webhook into payment / receipt events and delivers them to
the domain inbox in the handler's transaction. For providers without signatures
(YooKassa, ATOL Online, OrangeData) the object is fetched from the provider's API first
and the API's answer is what gets normalized: the webhook only says where to look.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.domain.inbox import deliver, raw_reference
from pipeline.domain.normalized import PaymentEvent
from pipeline.events.errors import PermanentError
from pipeline.events.handlers import HandlerContext, handlers
from pipeline.providers import atol, cloudpayments, orangedata, robokassa, tbank
from pipeline.providers import yookassa as yookassa_provider
from pipeline.providers.api.http import NotReady
from schema.events import EventStatus


def _object_id(payload: Mapping[str, Any]) -> str:
    obj = payload.get("object")
    object_id = obj.get("id") if isinstance(obj, Mapping) else None
    if not isinstance(object_id, str):
        raise PermanentError("notification has no object.id")
    return object_id


@handlers.handles("yookassa")
def yookassa_event(ctx: HandlerContext) -> EventStatus | None:
    api, ref = ctx.deps.apis.yookassa, raw_reference(ctx)
    object_id = _object_id(ctx.payload)
    if ctx.event.type.startswith("payment."):
        payment = api.get_payment(object_id)
        return deliver(ctx, [yookassa_provider.normalize_payment(payment, ref)])
    if ctx.event.type.startswith("refund."):
        refund = api.get_refund(object_id)
        payment_id = refund.get("payment_id")
        if not isinstance(payment_id, str):
            raise PermanentError("YooKassa refund has no payment_id")
        # The refund proves itself by existing; the payment carries the totals
        # (refunded_amount) the domain needs.
        payment = api.get_payment(payment_id)
        return deliver(ctx, [yookassa_provider.normalize_payment(payment, ref)])
    return EventStatus.IGNORED


@handlers.handles("atol")
def atol_receipt(ctx: HandlerContext) -> EventStatus | None:
    report = ctx.deps.apis.atol.report(ctx.event.external_id)
    if report.get("status") == "wait":
        raise NotReady(f"ATOL receipt {ctx.event.external_id} is still being registered")
    currency = ctx.deps.providers.atol.currency
    return deliver(ctx, [atol.normalize_report(report, raw_reference(ctx), currency)])


@handlers.handles("orangedata")
def orangedata_receipt(ctx: HandlerContext) -> EventStatus | None:
    inn, _, document_id = ctx.event.external_id.partition(":")
    document = ctx.deps.apis.orangedata.document_status(inn, document_id)
    if document is None:
        raise NotReady(f"OrangeData document {document_id} is still in the queue")
    currency = ctx.deps.providers.orangedata.currency
    event = orangedata.normalize_document(document, document_id, raw_reference(ctx), currency)
    return deliver(ctx, [event])


def _cloud(ctx: HandlerContext, default_currency: str) -> EventStatus | None:
    events = cloudpayments.normalize(
        ctx.event.type, ctx.payload, ctx.event.source, raw_reference(ctx), default_currency
    )
    return deliver(ctx, events)


@handlers.handles("cloudpayments")
def cloudpayments_notification(ctx: HandlerContext) -> EventStatus | None:
    return _cloud(ctx, ctx.deps.providers.cloudpayments.default_currency)


@handlers.handles("cloudkassir")
def cloudkassir_receipt(ctx: HandlerContext) -> EventStatus | None:
    return _cloud(ctx, "RUB")


@handlers.handles("tbank")
def tbank_notification(ctx: HandlerContext) -> EventStatus | None:
    return deliver(ctx, tbank.normalize(ctx.event.type, ctx.payload, raw_reference(ctx)))


@handlers.handles("robokassa")
def robokassa_result(ctx: HandlerContext) -> EventStatus | None:
    currency = ctx.deps.providers.robokassa.currency
    event: PaymentEvent = robokassa.normalize(ctx.payload, raw_reference(ctx), currency)
    return deliver(ctx, [event])
