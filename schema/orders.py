"""Orders, the payments that settle them, and the fiscal receipts of those payments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import Base
from schema.mixins import Timestamps


class Order(Timestamps, Base):
    """`public_id` is the order reference handed to providers (invoice payload, metadata,
    OrderId/InvId) and read back from their webhooks."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # How the user chose to pay: telegram (provider token), stars, yookassa, ...
    payment_method: Mapped[str] = mapped_column(String(32))
    # created, pending, paid, canceled, failed, refunded, partially_refunded
    status: Mapped[str] = mapped_column(String(24), default="created", server_default="created")
    # Where the user can pay (YooKassa confirmation URL), when there is one.
    payment_url: Mapped[str | None] = mapped_column(Text, nullable=True)


class Payment(Timestamps, Base):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "provider_payment_id"),
        Index("ix_payments_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    provider_payment_id: Mapped[str] = mapped_column(String(128))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), nullable=True, index=True)
    # pending, waiting_for_capture, succeeded, canceled, failed, partially_refunded, refunded
    status: Mapped[str] = mapped_column(String(24))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str] = mapped_column(String(3))
    paid_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # "<source>:<external_id>" of the last webhook that changed this payment.
    raw_reference: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # Provider data the domain needs later (the Telegram payer and the Stripe payment
    # intent for refunds, the order reference a mismatched payment named).
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    # Why this payment did not settle the order it named (wrong amount, currency, provider,
    # a test payment, the order already paid); None when it matched or named no order.
    mismatch: Mapped[str | None] = mapped_column(Text, nullable=True)
    # What was paid beyond the order's amount (the order is settled; the rest is owed back).
    overpaid_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Receipt(Timestamps, Base):
    """A 54-FZ receipt requested from a cash register for a payment or its refund."""

    __tablename__ = "receipts"
    __table_args__ = (
        UniqueConstraint("payment_id", "kind", "refund_seq"),
        Index("ix_receipts_status_next_poll_at", "status", "next_poll_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # sell, sell_refund
    # 0 for the sell receipt; 1, 2, ... for successive refunds of the same payment.
    refund_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    register: Mapped[str] = mapped_column(String(32))  # atol, ...
    # Our id sent as external_id: the register deduplicates on it, so retries are safe.
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    # The register's id for the document (ATOL uuid).
    register_receipt_id: Mapped[str | None] = mapped_column(String(128), nullable=True, unique=True)
    # pending (not yet accepted), wait, done, fail
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    total_minor: Mapped[int] = mapped_column(BigInteger)
    fiscal: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    ofd_receipt_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_poll_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
