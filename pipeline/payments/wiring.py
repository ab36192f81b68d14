"""Subscribes the payments and receipts domain to the domain inbox (imported by workers)."""

from __future__ import annotations

from pipeline.domain.inbox import subscribe
from pipeline.payments.batch import on_payment
from pipeline.receipts.service import on_receipt

subscribe("payment", on_payment)
subscribe("receipt", on_receipt)
