"""The product catalogue the bot sells from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import Base
from schema.knowledge import PRODUCT_VECTOR
from schema.mixins import Timestamps


class Product(Timestamps, Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint("stars_price IS NULL OR stars_price > 0", name="stars_positive"),
        # Full-text search of the catalogue by the assistant, one index per language.
        Index(
            "ix_products_fts_ru",
            text(PRODUCT_VECTOR.format(config="russian", lang="ru")),
            postgresql_using="gin",
        ),
        Index(
            "ix_products_fts_en",
            text(PRODUCT_VECTOR.format(config="english", lang="en")),
            postgresql_using="gin",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title_ru: Mapped[str] = mapped_column(String(128))
    title_en: Mapped[str] = mapped_column(String(128))
    description_ru: Mapped[str] = mapped_column(Text, default="", server_default="")
    description_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Price in minor units of `currency` (kopecks for RUB) for money payments.
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="RUB", server_default="RUB")
    # Price in Telegram Stars (XTR); None: not sold for Stars.
    stars_price: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # 54-FZ receipt item attributes.
    vat: Mapped[str] = mapped_column(String(16), default="none", server_default="none")
    payment_object: Mapped[str] = mapped_column(
        String(32), default="service", server_default="service"
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # A photo for the Mini App: https:// or a /static/ path (pipeline/shop/images.py checks).
    image_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    # Further languages beside ru/en: {"de": {"title": ..., "description": ...}}.
    translations: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
