"""Business tasks: receipts (register, poll), reconciliation, the notification sender.

Each task owns its transactions, a unit of work each: it commits, then its after-commit
jobs run.
"""

from __future__ import annotations

from datetime import UTC, datetime

from celery.utils.time import get_exponential_backoff_interval
from loguru import logger

from pipeline.messaging.queues import (
    FISCAL,
    NOTIFY,
    TASK_POLL_RECEIPTS,
    TASK_RECONCILE_PAYMENTS,
    TASK_REFUND_PAYMENT,
    TASK_REGISTER_RECEIPT,
    TASK_SEND_NOTIFICATIONS,
)
from pipeline.messaging.tasks import send_task
from pipeline.notifications.announce import alert_operators
from pipeline.notifications.repository import any_open
from pipeline.notifications.sender import send_due
from pipeline.payments.mismatch import ALERT as MISMATCH_ALERT
from pipeline.payments.reconcile import reconcile_payment, stale_payments
from pipeline.payments.refunds import http_refund_clients, refund_mismatched
from pipeline.providers.api.http import ApiUnavailable
from pipeline.receipts.atol_register import AtolRegister
from pipeline.receipts.registration import due_receipts, poll_receipt, register_receipt
from pipeline.telegram.api import TelegramError
from pipeline.telegram.limiter import RateLimiter
from pipeline.unit_of_work import unit_of_work
from workers.celery_app import app
from workers.context import runtime, sessions
from workers.tasks.base import LoggedTask

# The sender works this long per run, then hands over to a fresh task.
SEND_BUDGET_S = 50.0


# Celery's retries of a failed call to a provider: 5 s, 10 s, … capped at 10 min.
PROVIDER_RETRIES = {
    "max_retries": 8,
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": False,
}


@app.task(
    name=TASK_REGISTER_RECEIPT,
    base=LoggedTask,
    bind=True,
    autoretry_for=(Exception,),
    **PROVIDER_RETRIES,
)
def register(self: LoggedTask, receipt_id: int) -> str | None:
    try:
        with unit_of_work(sessions(), runtime().deps) as uow:
            atol = AtolRegister(uow.deps.redis, uow.deps.providers.atol)
            uuid = register_receipt(uow.session, receipt_id, atol, uow.deps)
    except Exception as exc:
        # Same external_id on every attempt: the register answers a repeat with the same uuid.
        logger.warning("receipt {} not registered yet: {}", receipt_id, exc)
        raise
    return uuid


@app.task(name=TASK_POLL_RECEIPTS, base=LoggedTask, bind=True)
def poll_receipts(self: LoggedTask) -> int:
    with sessions()() as session:
        waiting, lost = due_receipts(session, datetime.now(UTC))
    for receipt_id in lost:
        send_task(runtime().sender, TASK_REGISTER_RECEIPT, FISCAL, receipt_id)
    for receipt_id in waiting:
        try:
            with unit_of_work(sessions(), runtime().deps) as uow:
                poll_receipt(uow, receipt_id, uow.deps.apis.atol)
        except Exception as exc:  # the next run polls it again
            logger.warning("receipt {} poll failed: {}", receipt_id, exc)
    return len(waiting) + len(lost)


@app.task(name=TASK_RECONCILE_PAYMENTS, base=LoggedTask, bind=True)
def reconcile_payments(self: LoggedTask) -> int:
    settings = runtime().settings
    with sessions()() as session:
        ids = stale_payments(session, datetime.now(UTC), settings.reconcile_pending_after_s)
    for payment_id in ids:
        try:
            with unit_of_work(sessions(), runtime().deps) as uow:
                reconcile_payment(uow, payment_id)
        except Exception as exc:  # still stale: the next run tries again
            logger.warning("payment {} not reconciled: {}", payment_id, exc)
    return len(ids)


@app.task(name=TASK_REFUND_PAYMENT, base=LoggedTask, bind=True, **PROVIDER_RETRIES)
def refund_payment(self: LoggedTask, payment_id: int) -> str | None:
    """Give back a payment that did not settle its order; the same refund on every retry."""
    try:
        with unit_of_work(sessions(), runtime().deps) as uow:
            status = refund_mismatched(uow, payment_id, http_refund_clients(uow.deps))
    except (ApiUnavailable, TelegramError) as exc:
        gave_up = self.request.retries >= (self.max_retries or 0)
        if gave_up or (isinstance(exc, TelegramError) and not exc.retryable):
            _refund_failed(payment_id, exc)
            return None
        logger.warning("payment {} not refunded yet: {}", payment_id, exc)
        # Retried by hand (a refund that gave up alerts the operators), on the same backoff.
        delay = get_exponential_backoff_interval(
            self.retry_backoff, self.request.retries, self.retry_backoff_max, self.retry_jitter
        )
        raise self.retry(exc=exc, countdown=delay) from exc
    except Exception as exc:
        _refund_failed(payment_id, exc)
        raise
    return status


def _refund_failed(payment_id: int, exc: Exception) -> None:
    text = f"refund of payment {payment_id} failed ({exc}): refund it by hand"
    with unit_of_work(sessions(), runtime().deps) as uow:
        alert_operators(uow, f"{MISMATCH_ALERT}{payment_id}:refund", text)


@app.task(name=TASK_SEND_NOTIFICATIONS, base=LoggedTask, bind=True)
def send_notifications(self: LoggedTask) -> int:
    api = runtime().telegram.api_or_wait()
    if api is None:  # no token: the rows stay pending, quietly (one warning)
        return 0
    limiter = RateLimiter(runtime().deps.redis)
    handled = send_due(sessions(), api, limiter, budget_s=SEND_BUDGET_S, deps=runtime().deps)
    if handled and _more_due():
        send_task(runtime().sender, TASK_SEND_NOTIFICATIONS, NOTIFY)
    return handled


def _more_due() -> bool:
    with sessions()() as session:
        return any_open(session)
