"""Refunds: Telegram Stars through `refundStarPayment`; YooKassa, Stripe, CloudPayments,
T-Bank and Robokassa through their APIs; asked for by an operator (an order) or by the money rules
(a mismatched payment, whose hold is released instead where it is only authorized).

The payment changes only on the provider's word: for Stars the API's success (the later
`refunded_payment` update is then a no-op repeat); for YooKassa a `succeeded` refund
(else the `refund.succeeded` webhook does it); for T-Bank a `REFUNDED`/`REVERSED` answer.
CloudPayments' Refund notification states one refund's amount, not totals, so its refund
is left to that notification (applying it here too would count it twice). A Robokassa
refund is asynchronous and sends no notification: its request id is kept in the details
for reconciliation. CloudPayments, T-Bank and Robokassa take no idempotency key: the key
is kept in `payments.details` once the provider has accepted, and a repeat with that key
sends nothing. Callers commit, then run the context's jobs (the user's notification, the
refund receipt).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.domain.context import DomainContext
from pipeline.domain.normalized import PaymentEvent, PaymentStatus
from pipeline.payments import mismatch, repository
from pipeline.payments.links import amount
from pipeline.payments.service import apply_event
from pipeline.providers import stripe, tbank, telegram
from pipeline.providers import yookassa as yookassa_provider
from pipeline.providers.cloudpayments import CloudPaymentsProvider
from pipeline.providers.robokassa import RobokassaProvider
from schema.orders import Order, Payment
from schema.users import User

if TYPE_CHECKING:
    from pipeline.deps import Deps

REFUNDABLE = ("succeeded", "partially_refunded")
HELD = "waiting_for_capture"
# The detail naming the refund a provider without idempotency keys has accepted.
SENT = "refund_sent"
# Robokassa's id of the refund request (its state is asked with it).
REQUEST = "refund_request_id"


class RefundError(Exception):
    """The order cannot be refunded this way (shown to the operator)."""


class BotCaller(Protocol):
    def call(self, method: str, **params: Any) -> Any: ...


class YooKassaRefunds(Protocol):
    def create_refund(self, body: dict[str, Any], key: str) -> dict[str, Any]: ...

    def get_payment(self, payment_id: str) -> dict[str, Any]: ...


def _payment(ctx: DomainContext, public_id: str) -> tuple[Order, Payment]:
    order = repository.order_by_public_id(ctx.session, public_id)
    if order is None:
        raise RefundError(f"no order {public_id}")
    payment = repository.last_payment_of(ctx.session, order.id, REFUNDABLE)
    if payment is None:
        raise RefundError(f"order {public_id} has no paid payment to refund")
    return order, payment


class StripeRefunds(Protocol):
    def create_refund(self, target: str, amount: int, key: str) -> dict[str, Any]: ...


class CloudPaymentsRefunds(Protocol):
    def refund(self, transaction_id: str, amount: int, currency: str) -> dict[str, Any]: ...

    def void(self, transaction_id: str) -> dict[str, Any]: ...


class TBankRefunds(Protocol):
    def terminal_for(self, terminal: str | None) -> str | None: ...

    def cancel(self, terminal: str, payment_id: str, amount: int) -> dict[str, Any]: ...


class RobokassaRefunds(Protocol):
    def refund(self, invoice_id: str, amount: int, currency: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class MoreRefunds:
    """The refund APIs beyond the bot, YooKassa and Stripe (absent: not refunded here)."""

    cloudpayments: CloudPaymentsRefunds | None = None
    tbank: TBankRefunds | None = None
    robokassa: RobokassaRefunds | None = None


@dataclass(frozen=True)
class RefundClients:
    """Every refund API a refund may go through; the provider's payment picks one."""

    bot: BotCaller
    yookassa: YooKassaRefunds
    stripe: StripeRefunds | None = None
    more: MoreRefunds = MoreRefunds()


def http_refund_clients(deps: Deps) -> RefundClients:
    """The HTTP adapters from the process's provider settings and settings (`deps`): the
    one way the API, the CLI and the refund task make them (imported here: the receiver
    never needs them). Each checks its credentials at its first call, so a refund through
    one provider never needs another's; the bot is made on demand, as only a Stars refund
    needs its token."""
    from pipeline.providers.api.cloudpayments import HttpCloudPaymentsApi
    from pipeline.providers.api.robokassa import HttpRobokassaApi
    from pipeline.providers.api.stripe import HttpStripeApi
    from pipeline.providers.api.tbank import HttpTBankApi
    from pipeline.providers.api.yookassa import HttpYooKassaApi
    from pipeline.telegram.api import BotApiOnDemand

    s = deps.providers
    more = MoreRefunds(
        HttpCloudPaymentsApi(s.cloudpayments), HttpTBankApi(s.tbank), HttpRobokassaApi(s.robokassa)
    )
    return RefundClients(
        BotApiOnDemand(deps.settings), HttpYooKassaApi(s.yookassa), HttpStripeApi(s.stripe), more
    )


def refund_order(
    ctx: DomainContext,
    public_id: str,
    clients: RefundClients,
) -> str:
    """Refund what is left of the order's payment; the payment's status afterwards."""
    order, payment = _payment(ctx, public_id)
    owner = ctx.session.get(User, order.user_id)
    payer = mismatch.payer(payment) or (owner.telegram_id if owner is not None else None)
    key = f"refund-{payment.id}-{payment.refunded_minor}"
    return refund_payment(ctx, payment, payer, key, clients)


def refund_mismatched(
    ctx: DomainContext,
    payment_id: int,
    clients: RefundClients,
) -> str | None:
    """Give back a payment that did not settle the order it named (the refund task), or
    release its hold. None when there is nothing (left) to do."""
    payment = ctx.session.get(Payment, payment_id, with_for_update=True)
    if payment is None or payment.mismatch is None:
        return None
    # Keyed by the payment alone: however often the task runs, one refund is made.
    key = f"mismatch-refund-{payment.id}"
    if payment.details.get(SENT) == key:
        return None
    if payment.status == HELD and payment.provider in mismatch.RELEASED_HERE:
        return _release(ctx, payment, key, clients.more)
    if payment.status not in REFUNDABLE:
        return None
    payer = mismatch.payer(payment)
    return refund_payment(ctx, payment, payer, key, clients)


def _refunded(
    ctx: DomainContext, payment: Payment, ref: str, status: PaymentStatus = PaymentStatus.REFUNDED
) -> None:
    """Apply a refund (or a released hold) the provider confirmed; its webhook is then a
    no-op repeat."""
    refunded = payment.paid_minor if status is PaymentStatus.REFUNDED else None
    event = PaymentEvent(
        provider=payment.provider,
        provider_payment_id=payment.provider_payment_id,
        order_reference=None,
        amount=payment.amount_minor,
        currency=payment.currency,
        status=status,
        paid_amount=payment.paid_minor,
        refunded_amount=refunded,
        raw_reference=ref,
    )
    apply_event(ctx, event)


def _sent(payment: Payment, key: str) -> None:
    payment.details = {**payment.details, SENT: key}


def _release(ctx: DomainContext, payment: Payment, key: str, more: MoreRefunds) -> str:
    """Cancel a mismatched payment that is only authorized: the payer's hold is released."""
    if payment.provider == CloudPaymentsProvider.name and more.cloudpayments is not None:
        more.cloudpayments.void(payment.provider_payment_id)
        _sent(payment, key)
        _refunded(ctx, payment, f"void:{payment.provider_payment_id}", PaymentStatus.CANCELED)
    elif payment.provider == tbank.PROVIDER and more.tbank is not None:
        if payment.amount_minor is None:
            raise RefundError("the held amount is not known")
        _tbank_cancel(ctx, payment, more.tbank, payment.amount_minor)
        _sent(payment, key)
    else:
        raise RefundError(f"holds at {payment.provider} are not released here")
    return payment.status


def _tbank_cancel(ctx: DomainContext, payment: Payment, api: TBankRefunds, amount: int) -> None:
    terminal = api.terminal_for(mismatch.tbank_terminal(payment))
    if terminal is None:
        raise RefundError("the T-Bank terminal of this payment is not configured")
    answer = api.cancel(terminal, payment.provider_payment_id, amount)
    ref = f"cancel:{payment.provider_payment_id}"
    status = str(answer.get("Status", "")).upper()
    if status == "REFUNDED":
        _refunded(ctx, payment, ref)
    elif status in {"REVERSED", "CANCELED"}:
        _refunded(ctx, payment, ref, PaymentStatus.CANCELED)
    # Anything else (PARTIAL_REFUNDED, still REFUNDING) is settled by T-Bank's notification.


def refund_payment(
    ctx: DomainContext,
    payment: Payment,
    payer: int | None,
    key: str,
    clients: RefundClients,
) -> str:
    """Refund what is left of `payment` through its provider's API; its status afterwards.
    `key` makes a retried call the same refund at the provider."""
    left = payment.paid_minor - payment.refunded_minor
    bot, yookassa, stripe_api, more = clients.bot, clients.yookassa, clients.stripe, clients.more
    if payment.details.get(SENT) == key:
        return payment.status  # accepted already; its notification settles the payment
    if payment.provider == telegram.PROVIDER:
        if payment.currency != "XTR":
            raise RefundError("card payments made in Telegram are refunded by the provider")
        if payer is None:
            raise RefundError("the Telegram user who paid is not known")
        # Raises TelegramError when Telegram refuses: nothing changes then.
        bot.call(
            "refundStarPayment",
            user_id=payer,
            telegram_payment_charge_id=payment.provider_payment_id,
        )
        _refunded(ctx, payment, f"refund:{payment.provider_payment_id}")
        return payment.status
    if payment.provider == yookassa_provider.YooKassaProvider.name:
        body = {"payment_id": payment.provider_payment_id, "amount": amount(left, payment.currency)}
        refund = yookassa.create_refund(body, key)
        if refund.get("status") == "succeeded":
            fetched = yookassa.get_payment(payment.provider_payment_id)
            ref = f"refund:{refund.get('id')}"
            apply_event(ctx, yookassa_provider.normalize_payment(fetched, ref))
        return payment.status
    target = mismatch.stripe_target(payment)
    if payment.provider == stripe.PROVIDER and stripe_api is not None and target is not None:
        refund = stripe_api.create_refund(target, left, key)
        if refund.get("status") == "succeeded":
            _refunded(ctx, payment, f"refund:{refund.get('id')}")
        return payment.status
    if payment.provider == CloudPaymentsProvider.name and more.cloudpayments is not None:
        more.cloudpayments.refund(payment.provider_payment_id, left, payment.currency)
        _sent(payment, key)
        return payment.status
    if payment.provider == tbank.PROVIDER and more.tbank is not None:
        _tbank_cancel(ctx, payment, more.tbank, left)
        _sent(payment, key)
        return payment.status
    if payment.provider == RobokassaProvider.name and more.robokassa is not None:
        answer = more.robokassa.refund(payment.provider_payment_id, left, payment.currency)
        _sent(payment, key)
        payment.details = {**payment.details, REQUEST: str(answer.get("requestId"))}
        return payment.status
    raise RefundError(f"refunds through {payment.provider} are not supported here")
