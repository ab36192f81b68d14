"""The pure state machine: monotonic, refunds only grow, order of arrival does not matter."""

from __future__ import annotations

import itertools

import pytest

from pipeline.domain.normalized import PaymentEvent, PaymentStatus
from pipeline.payments.state import PaymentState, apply

S = PaymentStatus


def ev(status: PaymentStatus, **kw: int | None) -> PaymentEvent:
    return PaymentEvent(
        provider="yookassa",
        provider_payment_id="p1",
        order_reference="o1",
        amount=10000,
        currency="RUB",
        status=status,
        **kw,  # type: ignore[arg-type]
    )


def run(events: list[PaymentEvent]) -> PaymentState | None:
    state: PaymentState | None = None
    for event in events:
        state = apply(state, event).after
    return state


def test_repeated_event_changes_nothing() -> None:
    first = apply(None, ev(S.SUCCEEDED))
    again = apply(first.after, ev(S.SUCCEEDED))
    assert first.changed and first.became_paid
    assert not again.changed


def test_stale_pending_after_success_is_ignored() -> None:
    state = run([ev(S.SUCCEEDED)])
    assert not apply(state, ev(S.PENDING)).changed
    assert not apply(state, ev(S.WAITING_FOR_CAPTURE)).changed


def test_canceled_cannot_undo_success_and_success_cannot_revive_canceled() -> None:
    assert run([ev(S.SUCCEEDED), ev(S.CANCELED)]).status is S.SUCCEEDED  # type: ignore[union-attr]
    assert run([ev(S.CANCELED), ev(S.SUCCEEDED)]).status is S.CANCELED  # type: ignore[union-attr]


def test_refund_totals_only_grow() -> None:
    part = ev(S.PARTIALLY_REFUNDED, paid_amount=10000, refunded_amount=3000)
    full = ev(S.REFUNDED, paid_amount=10000, refunded_amount=10000)
    state = run([ev(S.SUCCEEDED), full, part])
    assert state == PaymentState(S.REFUNDED, 10000, 10000, 10000)


def test_refund_without_totals_adds_up() -> None:
    one = ev(S.PARTIALLY_REFUNDED, refund_amount=4000)
    state = run([ev(S.SUCCEEDED), one, ev(S.PARTIALLY_REFUNDED, refund_amount=6000)])
    assert state is not None and state.status is S.REFUNDED and state.refunded == 10000


@pytest.mark.parametrize(
    "order",
    list(itertools.permutations(["pending", "waiting", "succeeded", "partial", "refunded"])),
)
def test_any_arrival_order_ends_in_the_same_state(order: tuple[str, ...]) -> None:
    events = {
        "pending": ev(S.PENDING),
        "waiting": ev(S.WAITING_FOR_CAPTURE),
        "succeeded": ev(S.SUCCEEDED, paid_amount=10000),
        "partial": ev(S.PARTIALLY_REFUNDED, paid_amount=10000, refunded_amount=4000),
        "refunded": ev(S.REFUNDED, paid_amount=10000, refunded_amount=10000),
    }
    assert run([events[name] for name in order]) == PaymentState(S.REFUNDED, 10000, 10000, 10000)
