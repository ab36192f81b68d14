"""Bodies of orders, payments, receipts and bot users."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.pagination import Page


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    public_id: str = Field(examples=["o-3f2a9c1b7d0e"])
    user_id: int
    product_id: int
    quantity: int
    amount_minor: int = Field(examples=[150000])
    currency: str = Field(examples=["RUB"])
    payment_method: str = Field(examples=["yookassa"])
    status: str = Field(examples=["paid"])
    created_at: datetime
    updated_at: datetime


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider: str
    provider_payment_id: str
    order_id: int | None
    status: str = Field(examples=["succeeded"])
    amount_minor: int | None
    currency: str
    paid_minor: int
    refunded_minor: int
    raw_reference: str | None
    created_at: datetime
    updated_at: datetime


class ReceiptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    payment_id: int
    kind: str = Field(examples=["sell"])
    cash_register: str = Field(validation_alias="register", examples=["atol"])
    status: str = Field(examples=["done"])
    total_minor: int
    ofd_receipt_url: str | None
    error: str | None
    fiscal: dict[str, Any] | None
    created_at: datetime


class OrderDetail(OrderOut):
    payment_url: str | None
    payments: list[PaymentOut]
    receipts: list[ReceiptOut]


class OrderPage(Page):
    items: list[OrderOut]


class PaymentPage(Page):
    items: list[PaymentOut]


class ReceiptPage(Page):
    items: list[ReceiptOut]


class RefundResult(BaseModel):
    order: str
    payment_status: str = Field(
        examples=["refunded"],
        description="After the provider's answer; a pending refund settles by webhook.",
    )


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    telegram_id: int
    username: str | None
    first_name: str | None
    language: str
    is_active: bool = Field(description="False: the user blocked the bot (Telegram said 403)")
    blocked_at: datetime | None = Field(description="When the user blocked the bot")
    blocked: bool = Field(description="Blocked by an operator: no answers, messages or Mini App")
    blocked_since: datetime | None
    blocked_by: str | None = Field(description="The staff e-mail or API key that blocked")
    blocked_reason: str | None
    created_at: datetime


class UserPage(Page):
    items: list[UserOut]
