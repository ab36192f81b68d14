"""A payment that named an order it does not settle: recorded, reported, given back.

The payment keeps its row (money moved at the provider) with the reason in
`payments.mismatch`, is not linked to the order, and the operators get an alert naming
the mismatch. Money taken is refunded by the `workers.refund_payment` task where the
provider allows it from here (Stars, YooKassa, Stripe with an API key, CloudPayments with
its Public ID, T-Bank, Robokassa with its Password #3), and a payment only authorized at
CloudPayments or T-Bank has its hold released; otherwise the alert says the refund must
be made by hand.
"""

from __future__ import annotations

from pipeline.deps import Deps
from pipeline.domain.context import DomainContext
from pipeline.domain.normalized import PaymentStatus
from pipeline.messaging.queues import MAINTENANCE, TASK_REFUND_PAYMENT
from pipeline.messaging.tasks import send_task
from pipeline.notifications.announce import alert_operators, format_amount
from pipeline.payments.state import Transition, is_paid
from pipeline.providers import stripe, tbank, telegram
from pipeline.providers.cloudpayments import CloudPaymentsProvider
from pipeline.providers.robokassa import RobokassaProvider
from pipeline.providers.yookassa import YooKassaProvider
from pipeline.settings import secret_values
from schema.orders import Order, Payment

ALERT = "payment_mismatch:"
OVERPAID_ALERT = "payment_overpaid:"
# Providers whose held (authorized, not captured) payments the refund task cancels.
RELEASED_HERE = frozenset({CloudPaymentsProvider.name, tbank.PROVIDER})


def stripe_target(payment: Payment) -> str | None:
    """The payment intent or charge a Stripe refund is made against."""
    own = payment.provider_payment_id
    if own.startswith(("pi_", "ch_")):
        return own
    target = payment.details.get("refund_target")
    return target if isinstance(target, str) else None


def tbank_terminal(payment: Payment) -> str | None:
    """The T-Bank terminal the payment was made through (its Cancel is signed for it)."""
    target = payment.details.get("refund_target")
    return target if isinstance(target, str) else None


def _tbank_terminal_known(deps: Deps, payment: Payment) -> bool:
    terminals = {key for key, _ in deps.providers.tbank.pairs()}
    own = tbank_terminal(payment)
    return own in terminals if own is not None else len(terminals) == 1


def payer(payment: Payment) -> int | None:
    value = payment.details.get("payer_id")
    return value if isinstance(value, int) else None


def refundable_here(deps: Deps, payment: Payment) -> bool:
    """Whether the refund task can give this payment's money back through the API."""
    providers = deps.providers
    if payment.provider == telegram.PROVIDER:
        token = deps.settings.telegram_bot_token
        return payment.currency == "XTR" and payer(payment) is not None and token is not None
    if payment.provider == YooKassaProvider.name:
        return YooKassaProvider(providers.yookassa).configured()
    if payment.provider == stripe.PROVIDER:
        keys = secret_values(providers.stripe.api_key)
        return bool(keys) and stripe_target(payment) is not None
    if payment.provider == CloudPaymentsProvider.name:
        settings = providers.cloudpayments
        return bool(settings.public_id and secret_values(settings.api_secret))
    if payment.provider == tbank.PROVIDER:
        return _tbank_terminal_known(deps, payment)
    if payment.provider == RobokassaProvider.name:
        return providers.robokassa.refunds_configured()
    return False


def record(
    ctx: DomainContext, payment: Payment, order: Order, transition: Transition, reason: str
) -> None:
    """Mark the payment as not settling `order`; alert on the first sight of the mismatch
    and again when money arrives on it; ask for the refund when money was taken."""
    first = payment.mismatch is None
    if first:
        payment.mismatch = reason[:500]
        payment.details = {**payment.details, "order_reference": order.public_id}
        if payment.order_id == order.id:
            payment.order_id = None
    after = transition.after
    money = is_paid(after.status) and after.paid > after.refunded
    held = after.status is PaymentStatus.WAITING_FOR_CAPTURE
    release = held and payment.provider in RELEASED_HERE and refundable_here(ctx.deps, payment)
    now_held = transition.became is PaymentStatus.WAITING_FOR_CAPTURE
    if not first and not (money and transition.became_paid) and not (release and now_held):
        return
    what = (
        f"{payment.provider} payment {payment.provider_payment_id} "
        f"({format_amount(after.paid or after.amount or 0, payment.currency)}, {after.status}) "
        f"names order {order.public_id} "
        f"({format_amount(order.amount_minor, order.currency)}, {order.status}) "
        f"but does not settle it: {payment.mismatch}. The order was left unchanged."
    )
    if money and refundable_here(ctx.deps, payment):
        payment_id = payment.id
        sender = ctx.deps.sender
        ctx.after_commit(lambda: send_task(sender, TASK_REFUND_PAYMENT, MAINTENANCE, payment_id))
        action = "A refund was requested from the provider."
    elif money:
        action = f"Manual refund needed: refund it in the {payment.provider} dashboard."
    elif release:
        payment_id = payment.id
        sender = ctx.deps.sender
        ctx.after_commit(lambda: send_task(sender, TASK_REFUND_PAYMENT, MAINTENANCE, payment_id))
        action = "The money is held: its release was requested from the provider."
    elif held:
        action = f"The money is held: cancel the payment in the {payment.provider} dashboard."
    else:
        action = "No money was taken (yet); a refund follows if it is."
    later = ":paid" if money else ":held"
    key = f"{ALERT}{payment.id}" if first else f"{ALERT}{payment.id}{later}"
    alert_operators(ctx, key, f"{what} {action}")


def record_overpayment(ctx: DomainContext, payment: Payment, order: Order, paid: int) -> None:
    over = paid - order.amount_minor
    if over <= 0 or payment.overpaid_minor == over:
        return
    payment.overpaid_minor = over
    alert_operators(
        ctx,
        f"{OVERPAID_ALERT}{payment.id}",
        f"{payment.provider} payment {payment.provider_payment_id} paid order "
        f"{order.public_id} with {format_amount(paid, payment.currency)}, "
        f"{format_amount(over, payment.currency)} more than its amount: the order is paid; "
        "give the difference back by hand if it is owed.",
    )
