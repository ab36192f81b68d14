"""The catalogue: products with their translations, price and active flag. Viewers read;
operators create, edit, deactivate and reactivate (`catalog:write`). Edits go through the
same service as `/api/v1/products`, so they invalidate the same Redis cache."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from api.console.auth import Console, CsrfForm, require
from api.console.flash import flash
from api.console.render import render
from api.console.validation import (
    FormInvalid,
    checked,
    minor_units,
    optional_int,
    path_id,
    sentence,
)
from api.deps import RuntimeDep, SessionDep, UnitOfWorkDep
from api.models.catalog import ProductCreate, ProductUpdate
from pipeline.shop import catalog

router = APIRouter(prefix="/admin/catalog", include_in_schema=False)
Reader = Annotated[Console, Depends(require("catalog:read"))]
Writer = Annotated[Console, Depends(require("catalog:write"))]
ProductId = Annotated[int, path_id("product_id", "product")]
DROP_FIELD = "drop_"  # a checked `drop_<lang>` removes that further language
TRANSLATION_FIELD = re.compile(r"^tr_([A-Za-z]{2}(?:-[A-Za-z]{2})?)_title$")
LABELS = {
    "code": "Code",
    "price_minor": "Price",
    "currency": "Currency",
    "stars_price": "Stars price",
    "vat": "VAT",
    "payment_object": "Payment object",
    "image_url": "Image URL",
}
EMPTY_PRODUCT: dict[str, Any] = {
    "id": None,
    "code": "",
    "price_minor": 0,
    "currency": "RUB",
    "stars_price": None,
    "vat": "none",
    "payment_object": "service",
    "is_active": True,
    "image_url": None,
    "translations": {lang: {"title": "", "description": ""} for lang in catalog.COLUMN_LANGUAGES},
}


def _translations(form: dict[str, str]) -> dict[str, dict[str, str]]:
    """`tr_<lang>_title` / `tr_<lang>_description`, and the row for a new language."""
    found = {}
    for name, title in form.items():
        match = TRANSLATION_FIELD.match(name)
        if match:
            lang = match.group(1)
            description = form.get(f"tr_{lang}_description", "")
            found[lang] = {"title": title.strip(), "description": description.strip()}
    new_lang = form.get("new_lang", "").strip()
    if new_lang:
        found[new_lang] = {
            "title": form.get("new_title", "").strip(),
            "description": form.get("new_description", "").strip(),
        }
    return found


def _fields(form: dict[str, str]) -> dict[str, Any]:
    image = form.get("image_url", "").strip()
    return {
        "price_minor": minor_units(form.get("price", ""), "Price"),
        "currency": form.get("currency", "").strip().upper(),
        "stars_price": optional_int(form.get("stars_price", ""), "Stars price"),
        "vat": form.get("vat", "").strip(),
        "payment_object": form.get("payment_object", "").strip(),
        "is_active": form.get("is_active") == "on",
        "image_url": image or None,
    }


def _as_entered(form: dict[str, str], product_id: int | None) -> dict[str, Any]:
    """The form's values shaped like a product, to show a refused form again as typed."""
    translations = {
        lang: {"title": text["title"], "description": text["description"]}
        for lang, text in _translations({**form, "new_lang": ""}).items()
    }
    return {
        **EMPTY_PRODUCT,
        "id": product_id,
        "code": form.get("code", ""),
        "price_text": form.get("price", ""),
        "currency": form.get("currency", ""),
        "stars_price": form.get("stars_price", ""),
        "vat": form.get("vat", ""),
        "payment_object": form.get("payment_object", ""),
        "is_active": form.get("is_active") == "on",
        "image_url": form.get("image_url", ""),
        "translations": translations or EMPTY_PRODUCT["translations"],
        "new_lang": form.get("new_lang", ""),
        "new_title": form.get("new_title", ""),
        "new_description": form.get("new_description", ""),
    }


def _form_page(
    request: Request, console: Console, product: dict[str, Any], *, error: str = "", status: int
) -> Response:
    return render(
        request, "catalog.html", console, active="catalog", status=status,
        mode="form", product=product, error=error,
    )  # fmt: skip


@router.get("")
def products(request: Request, console: Reader, session: SessionDep) -> Response:
    rows = catalog.list_products(session, include_inactive=True)
    return render(request, "catalog.html", console, active="catalog", mode="list", rows=rows)


@router.get("/new")
def new_product(request: Request, console: Writer) -> Response:
    return _form_page(request, console, EMPTY_PRODUCT, status=200)


@router.get("/{product_id}")
def edit_form(
    request: Request, console: Writer, product_id: ProductId, session: SessionDep
) -> Response:
    try:
        product = catalog.as_dict(catalog.get_product(session, product_id))
    except catalog.CatalogError as exc:
        raise FormInvalid(f"There is no product {product_id}.", exc.status) from None
    return _form_page(request, console, product, status=200)


@router.post("")
def create(
    request: Request, console: Writer, form: CsrfForm, uow: UnitOfWorkDep, runtime: RuntimeDep
) -> Response:
    try:
        fields = _fields(form)
        body = checked(
            ProductCreate,
            {**fields, "code": form.get("code", "").strip(), "translations": _translations(form)},
            LABELS,
        )
        data = body.model_dump(exclude={"translations"})
        texts = {k: v.model_dump() for k, v in body.translations.items()}
        product = catalog.create_product(uow, runtime.cache, data, texts)
    except (FormInvalid, catalog.CatalogError) as exc:
        status = exc.status
        message = exc.message if isinstance(exc, FormInvalid) else sentence(exc)
        return _form_page(request, console, _as_entered(form, None), error=message, status=status)
    flash(runtime, console, f"Product {product.code} created.")
    return RedirectResponse("/admin/catalog", status_code=303)


@router.post("/{product_id}")
def update(
    request: Request,
    console: Writer,
    product_id: ProductId,
    form: CsrfForm,
    uow: UnitOfWorkDep,
    runtime: RuntimeDep,
) -> Response:
    try:
        body = checked(
            ProductUpdate, {**_fields(form), "translations": _translations(form)}, LABELS
        )
        data = body.model_dump(exclude={"translations"}, exclude_unset=True)
        drop = [name.removeprefix(DROP_FIELD) for name in form if name.startswith(DROP_FIELD)]
        texts = {k: v.model_dump() for k, v in body.translations.items() if k not in drop}
        product = catalog.edit_product(uow, runtime.cache, product_id, data, texts, drop)
    except (FormInvalid, catalog.CatalogError) as exc:
        message = exc.message if isinstance(exc, FormInvalid) else sentence(exc)
        entered = _as_entered(form, product_id)
        return _form_page(request, console, entered, error=message, status=exc.status)
    flash(runtime, console, f"Product {product.code} saved.")
    return RedirectResponse("/admin/catalog", status_code=303)


@router.post("/{product_id}/active")
def set_active(
    console: Writer,
    product_id: ProductId,
    form: CsrfForm,
    uow: UnitOfWorkDep,
    runtime: RuntimeDep,
) -> Response:
    """`active=0` deactivates (the product stays for its orders), `active=1` sells it again."""
    active = form.get("active") == "1"
    try:
        if active:
            product = catalog.edit_product(uow, runtime.cache, product_id, {"is_active": True}, {})
        else:
            product = catalog.deactivate_product(uow, runtime.cache, product_id)
    except catalog.CatalogError as exc:
        raise FormInvalid(sentence(exc), exc.status) from None
    state = "is on sale again" if active else "is deactivated"
    flash(runtime, console, f"Product {product.code} {state}.")
    return RedirectResponse("/admin/catalog", status_code=303)
