"""The catalogue as operators edit it: products with translations per language.

Russian and English live in their own columns (the bot and the 54-FZ receipts read them);
any further language is in `translations` ({"de": {"title": ..., "description": ...}}).
Functions take the session and never commit. The edits of the API and the console
(`create_product`, `edit_product`, `deactivate_product`) check the rules shared by both and
invalidate the catalogue's cache once their unit of work commits.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy.orm import Session

from pipeline.cache import Cache
from pipeline.shop import repository
from pipeline.unit_of_work import UnitOfWork
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
# Fields an edit may leave out but never set to null.
NOT_NULL = ("price_minor", "currency", "vat", "payment_object", "is_active")


class CatalogError(ValueError):
    """A catalogue edit refused; `status` is the HTTP status that fits (404, 409, 422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


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
    return [as_dict(p) for p in repository.products(session, include_inactive=include_inactive)]


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
    found = repository.product_id_with_code(session, code)
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


def get_product(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id)
    if product is None:
        raise CatalogError(404, f"no product {product_id}")
    return product


def get_for_update(session: Session, product_id: int) -> Product:
    product = session.get(Product, product_id, with_for_update=True)
    if product is None:
        raise CatalogError(404, f"no product {product_id}")
    return product


def _invalidate_after_commit(uow: UnitOfWork, cache: Cache) -> None:
    uow.after_commit(lambda: cache.invalidate(CACHE))


def import_products(uow: UnitOfWork, cache: Cache | None, items: list[dict[str, Any]]) -> None:
    """An operator's file (`pipeline products import`): each product inserted, or updated
    by its code; the cached catalogue goes once the import commits, as after an edit
    (`cache` None: a setup without Redis, where no API caches it)."""
    repository.upsert_products(uow.session, items)
    if cache is not None:
        _invalidate_after_commit(uow, cache)


def create_product(
    uow: UnitOfWork, cache: Cache, fields: dict[str, Any], translations: dict[str, Any]
) -> Product:
    """`fields` include `code`; `translations` must have every column language."""
    missing = [lang for lang in COLUMN_LANGUAGES if lang not in translations]
    if missing:
        raise CatalogError(422, f"translations needed: {', '.join(missing)}")
    if code_taken(uow.session, fields["code"]):
        raise CatalogError(409, f"a product with code {fields['code']!r} exists")
    product = create(uow.session, fields, translations)
    _invalidate_after_commit(uow, cache)
    return product


def edit_product(
    uow: UnitOfWork,
    cache: Cache,
    product_id: int,
    fields: dict[str, Any],
    translations: dict[str, Any],
    drop_languages: Collection[str] = (),
) -> Product:
    """Only the given fields change; translations are merged by language, and the further
    languages in `drop_languages` are removed (ru and en cannot be)."""
    for name in NOT_NULL:
        if name in fields and fields[name] is None:
            raise CatalogError(422, f"{name} cannot be null")
    kept = [lang for lang in drop_languages if lang in COLUMN_LANGUAGES]
    if kept:
        raise CatalogError(
            422, f"the {', '.join(kept)} translation cannot be removed: the bot and receipts use it"
        )
    product = get_for_update(uow.session, product_id)
    update(uow.session, product, fields, translations)
    if drop_languages:
        extra = dict(product.translations or {})
        product.translations = {k: v for k, v in extra.items() if k not in drop_languages}
        uow.session.flush()
    _invalidate_after_commit(uow, cache)
    return product


def deactivate_product(uow: UnitOfWork, cache: Cache, product_id: int) -> Product:
    """Products stay for the orders that name them; a deactivated one is not sold."""
    return edit_product(uow, cache, product_id, {"is_active": False}, {})
