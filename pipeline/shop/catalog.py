"""The catalogue as operators edit it: products with translations per language.

Russian and English live in their own columns (the bot and the 54-FZ receipts read them);
any further language is in `translations` ({"de": {"title": ..., "description": ...}}).
Functions take the session and never commit; the caller invalidates the cache after commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from schema.catalog import Product

CACHE = "catalog"
COLUMN_LANGUAGES = ("ru", "en")
FIELDS = (
    "code",
    "price_minor",
    "currency",
    "stars_price",
    "vat",
    "payment_object",
    "is_active",
    "image_url",
)


def translations_of(product: Product) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {
        lang: {
            "title": getattr(product, f"title_{lang}"),
            "description": getattr(product, f"description_{lang}"),
        }
        for lang in COLUMN_LANGUAGES
    }
    found.update(product.translations or {})
    return found


def product_text(product: Product, lang: str, default: str = "en") -> dict[str, str]:
    """The product's title and description in `lang`, else in the shop's default language,
    else in English, else in any language it has, else its code: a language added to the
    bot later reads whatever the operators wrote."""
    texts = translations_of(product)
    for candidate in (lang, default, "en", *sorted(texts)):
        chosen = texts.get(candidate) or {}
        if (chosen.get("title") or "").strip():
            return {"title": chosen["title"], "description": chosen.get("description") or ""}
    return {"title": product.code, "description": ""}


def as_dict(product: Product) -> dict[str, Any]:
    data: dict[str, Any] = {"id": product.id, **{f: getattr(product, f) for f in FIELDS}}
    data["translations"] = translations_of(product)
    return data


def list_products(session: Session, *, include_inactive: bool) -> list[dict[str, Any]]:
    stmt = select(Product).order_by(Product.id)
    if not include_inactive:
        stmt = stmt.where(Product.is_active.is_(True))
    return [as_dict(p) for p in session.scalars(stmt)]


def _apply_translations(product: Product, translations: dict[str, dict[str, str]]) -> None:
    extra = dict(product.translations or {})
    for lang, text in translations.items():
        if lang in COLUMN_LANGUAGES:
            setattr(product, f"title_{lang}", text["title"])
            setattr(product, f"description_{lang}", text.get("description", ""))
        else:
            extra[lang] = {"title": text["title"], "description": text.get("description", "")}
    product.translations = extra


def code_taken(session: Session, code: str, other_than: int | None = None) -> bool:
    stmt = select(Product.id).where(Product.code == code)
    found = session.scalars(stmt).first()
    return found is not None and found != other_than


def create(session: Session, fields: dict[str, Any], translations: dict[str, Any]) -> Product:
    product = Product(**fields, title_ru="", title_en="")
    _apply_translations(product, translations)
    session.add(product)
    session.flush()
    return product


def update(
    session: Session, product: Product, fields: dict[str, Any], translations: dict[str, Any]
) -> Product:
    for name, value in fields.items():
        setattr(product, name, value)
    _apply_translations(product, translations)
    session.flush()
    return product
