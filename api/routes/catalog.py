"""The catalogue: products with translations; reads cached, writes invalidate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import TypeAdapter

from api.auth.principal import Principal
from api.deps import RuntimeDep, SessionDep, UnitOfWorkDep, require
from api.errors import ProblemError, error_responses
from api.models.catalog import ProductCreate, ProductOut, ProductUpdate
from api.models.common import IdPath
from pipeline.shop import catalog
from schema.catalog import Product

router = APIRouter(prefix="/products", tags=["catalog"])
Reader = Annotated[Principal, Depends(require("catalog:read"))]
Writer = Annotated[Principal, Depends(require("catalog:write"))]
DENIED = error_responses(401, 403, 429)
PRODUCT_LIST = TypeAdapter(list[ProductOut])


@router.get("", response_model=list[ProductOut], responses=DENIED, summary="List products")
def list_products(
    _: Reader,
    runtime: RuntimeDep,
    include_inactive: Annotated[bool, Query(description="Also deactivated ones.")] = False,
) -> Response:
    """Served from the cache as encoded JSON; any catalogue write invalidates it."""

    def load() -> bytes:
        with runtime.sessions() as session:
            rows = catalog.list_products(session, include_inactive=include_inactive)
        return PRODUCT_LIST.dump_json([ProductOut.model_validate(row) for row in rows])

    body = runtime.cache.get_bytes(catalog.CACHE, f"all:{include_inactive}", load)
    return Response(body, media_type="application/json")


def _found(session: SessionDep, product_id: int) -> Product:
    product = session.get(Product, product_id, with_for_update=True)
    if product is None:
        raise ProblemError(404, "Not Found", f"no product {product_id}")
    return product


@router.post(
    "",
    status_code=201,
    responses={**DENIED, **error_responses(409, 422)},
    summary="Create a product",
)
def create_product(
    body: ProductCreate, _: Writer, uow: UnitOfWorkDep, runtime: RuntimeDep
) -> ProductOut:
    missing = [lang for lang in catalog.COLUMN_LANGUAGES if lang not in body.translations]
    if missing:
        raise ProblemError(
            422, "Unprocessable Content", f"translations needed: {', '.join(missing)}"
        )
    if catalog.code_taken(uow.session, body.code):
        raise ProblemError(409, "Conflict", f"a product with code {body.code!r} exists")
    fields = body.model_dump(exclude={"translations"})
    translations = {k: v.model_dump() for k, v in body.translations.items()}
    product = catalog.create(uow.session, fields, translations)
    uow.after_commit(lambda: runtime.cache.invalidate(catalog.CACHE))
    return ProductOut.model_validate(catalog.as_dict(product))


@router.patch(
    "/{product_id}",
    responses={**DENIED, **error_responses(404, 422)},
    summary="Update a product (deactivate with is_active: false)",
)
def update_product(
    product_id: IdPath, body: ProductUpdate, _: Writer, uow: UnitOfWorkDep, runtime: RuntimeDep
) -> ProductOut:
    product = _found(uow.session, product_id)
    fields = body.model_dump(exclude={"translations"}, exclude_unset=True)
    if "price_minor" in fields and fields["price_minor"] is None:
        raise ProblemError(422, "Unprocessable Content", "price_minor cannot be null")
    for name in ("currency", "vat", "payment_object", "is_active"):
        if name in fields and fields[name] is None:
            raise ProblemError(422, "Unprocessable Content", f"{name} cannot be null")
    translations = {k: v.model_dump() for k, v in body.translations.items()}
    catalog.update(uow.session, product, fields, translations)
    uow.after_commit(lambda: runtime.cache.invalidate(catalog.CACHE))
    return ProductOut.model_validate(catalog.as_dict(product))


@router.delete(
    "/{product_id}",
    responses={**DENIED, **error_responses(404)},
    summary="Deactivate a product",
)
def deactivate_product(
    product_id: IdPath, _: Writer, uow: UnitOfWorkDep, runtime: RuntimeDep
) -> ProductOut:
    """Products stay for the orders that name them; a deactivated one is not sold."""
    product = _found(uow.session, product_id)
    catalog.update(uow.session, product, {"is_active": False}, {})
    uow.after_commit(lambda: runtime.cache.invalidate(catalog.CACHE))
    return ProductOut.model_validate(catalog.as_dict(product))
