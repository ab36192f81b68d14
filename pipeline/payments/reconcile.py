"""Reconciliation: payments left pending too long are re-fetched from their provider,
so a lost webhook still ends in the right state."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from loguru import logger
from sqlalchemy import func
from sqlalchemy.orm import Session

from pipeline.domain.context import DomainContext
from pipeline.payments import repository
from pipeline.payments.fetchers import FETCHERS, Fetcher
from pipeline.payments.service import apply_event
from schema.orders import Payment

OPEN_STATUSES = ("pending", "waiting_for_capture")
BATCH = 100


def stale_payments(session: Session, now: datetime, after_s: int) -> list[int]:
    """Open payments at a provider that can be asked, untouched for `after_s` seconds."""
    before = now - timedelta(seconds=after_s)
    return repository.stale_payments(session, OPEN_STATUSES, list(FETCHERS), before, BATCH)


def reconcile_payment(
    ctx: DomainContext, payment_id: int, fetchers: Mapping[str, Fetcher] = FETCHERS
) -> str | None:
    """Re-fetch one payment and apply what the provider says; the resulting status."""
    payment = ctx.session.get(Payment, payment_id)
    if payment is None or payment.status not in OPEN_STATUSES:
        return None
    fetch = fetchers.get(payment.provider)
    if fetch is None:
        return payment.status
    event = fetch(ctx.deps, payment.provider_payment_id, f"reconcile:{payment.provider_payment_id}")
    if event is None:
        return payment.status
    transition = apply_event(ctx, event)
    if transition is None or not transition.changed:
        # Still open at the provider: look again only after another threshold.
        payment.updated_at = func.now()
    logger.info("reconciled payment {}: {}", payment_id, payment.status)
    return payment.status
