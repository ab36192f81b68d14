"""Provider-independent events: what the payments and receipts domain consumes.

Amounts are integers in minor units of `currency` (kopecks, cents, whole Telegram Stars).
A field is None when the provider's message does not state it; consumers must not read
None as zero. A value the domain cannot accept raises MalformedValue: the event is dead
at once, since the same message can never become valid.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from pipeline.domain.money import integer_minor_units
from pipeline.events.errors import MalformedValue


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    WAITING_FOR_CAPTURE = "waiting_for_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    FAILED = "failed"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


class ReceiptStatus(enum.StrEnum):
    WAIT = "wait"
    DONE = "done"
    FAIL = "fail"


def _check_amount(name: str, value: int | None) -> None:
    if value is None:
        return
    integer_minor_units(value, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentEvent:
    kind: ClassVar[str] = "payment"

    provider: str
    provider_payment_id: str
    order_reference: str | None
    amount: int | None
    currency: str
    status: PaymentStatus
    # Totals so far, where the provider states them.
    paid_amount: int | None = None
    refunded_amount: int | None = None
    # The amount of the one refund this message announces, when it announces one but
    # no totals (CloudPayments' Refund): the domain adds it to what it knows.
    refund_amount: int | None = None
    # "<source>:<external_id>" of the stored webhook this event came from.
    raw_reference: str = ""
    # A test-mode payment (Stripe livemode false, Robokassa IsTest, YooKassa test).
    test: bool = False
    # Who paid, where a refund needs it (the Telegram user of a Stars payment).
    payer_id: int | None = None
    # The id a refund is made against when it is not provider_payment_id (the payment
    # intent of a Stripe Checkout Session).
    refund_target: str | None = None

    def __post_init__(self) -> None:
        for name in ("amount", "paid_amount", "refunded_amount", "refund_amount"):
            _check_amount(name, getattr(self, name))
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise MalformedValue(f"currency must be an upper-case ISO code, got {self.currency!r}")
        if not self.provider_payment_id:
            raise MalformedValue("provider_payment_id must not be empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class FiscalAttributes:
    """The 54-FZ attributes of a registered receipt (all as the register printed them)."""

    fn_number: str | None = None  # fiscal drive number (FN)
    fiscal_document_number: str | None = None  # FD
    fiscal_document_attribute: str | None = None  # fiscal sign (FP, FPD)
    fiscal_receipt_number: str | None = None  # receipt number within the shift
    shift_number: str | None = None
    registration_number: str | None = None  # register registration number (RN KKT)
    receipt_datetime: str | None = None
    total: int | None = None  # minor units

    def __post_init__(self) -> None:
        _check_amount("total", self.total)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiptEvent:
    kind: ClassVar[str] = "receipt"

    provider: str
    receipt_id: str
    order_reference: str | None
    payment_reference: str | None
    status: ReceiptStatus
    fiscal: FiscalAttributes | None = None
    ofd_receipt_url: str | None = None
    error: str | None = None
    raw_reference: str = ""
    test: bool = False

    def __post_init__(self) -> None:
        if not self.receipt_id:
            raise MalformedValue("receipt_id must not be empty")


NormalizedEvent = PaymentEvent | ReceiptEvent
