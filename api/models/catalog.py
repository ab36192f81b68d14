"""Bodies of the catalogue resource."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from pipeline.domain.money import MAX_PRICE_MINOR
from pipeline.shop.images import check_image_url

Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]
# Shown as <img src> to every buyer: https:// or a /static/ path, nothing else (422).
ImageUrl = Annotated[
    str | None,
    AfterValidator(check_image_url),
    Field(description='A product photo: https://… or /static/…; null or "" for none.'),
]


class Translation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=128, examples=["Консультация"])
    description: str = Field("", max_length=4000)


class ProductFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price_minor: int = Field(
        ge=0, le=MAX_PRICE_MINOR, examples=[150000], description="Kopecks for RUB"
    )
    currency: str = Field("RUB", pattern="^[A-Z]{3}$")
    stars_price: int | None = Field(None, gt=0, le=10**6)
    vat: str = Field("none", max_length=16)
    payment_object: str = Field("service", max_length=32)
    is_active: bool = True
    image_url: ImageUrl = None


class ProductCreate(ProductFields):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    translations: dict[Language, Translation] = Field(
        description="By language; ru and en are required.",
        examples=[{"ru": {"title": "Консультация"}, "en": {"title": "Consultation"}}],
    )


class ProductUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    price_minor: int | None = Field(None, ge=0, le=MAX_PRICE_MINOR)
    currency: str | None = Field(None, pattern="^[A-Z]{3}$")
    stars_price: int | None = Field(None, gt=0, le=10**6)
    vat: str | None = Field(None, max_length=16)
    payment_object: str | None = Field(None, max_length=32)
    is_active: bool | None = None
    image_url: ImageUrl = None
    translations: dict[Language, Translation] = Field(default_factory=dict)


class ProductOut(ProductFields):
    id: int
    code: str
    translations: dict[Language, Translation]
