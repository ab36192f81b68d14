"""The catalogue: products with translations; reads cached, writes invalidate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import TypeAdapter

from api.auth.principal import Principal
from api.deps import RuntimeDep, UnitOfWorkDep, require
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
TITLES = {422: "Unprocessable Content"}  # RFC 9110's name (http.HTTPStatus has the old one)


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


def _edited(edit: Callable[[], Product]) -> ProductOut:
    try:
        product = edit()
    except catalog.CatalogError as exc:
        raise ProblemError(exc.status, TITLES.get(exc.status), str(exc)) from None
    return ProductOut.model_validate(catalog.as_dict(product))


@router.post(
    "",
    status_code=201,
    responses={**DENIED, **error_responses(409, 422)},
    summary="Create a product",
)
def create_product(
    body: ProductCreate, _: Writer, uow: UnitOfWorkDep, runtime: RuntimeDep
) -> ProductOut:
    fields = body.model_dump(exclude={"translations"})
    translations = {k: v.model_dump() for k, v in body.translations.items()}
    return _edited(lambda: catalog.create_product(uow, runtime.cache, fields, translations))


@router.patch(
    "/{product_id}",
    responses={**DENIED, **error_responses(404, 422)},
    summary="Update a product (deactivate with is_active: false)",
)
def update_product(
    product_id: IdPath, body: ProductUpdate, _: Writer, uow: UnitOfWorkDep, runtime: RuntimeDep
) -> ProductOut:
    fields = body.model_dump(exclude={"translations"}, exclude_unset=True)
    translations = {k: v.model_dump() for k, v in body.translations.items()}
    return _edited(
        lambda: catalog.edit_product(uow, runtime.cache, product_id, fields, translations)
    )


@router.delete(
    "/{product_id}",
    responses={**DENIED, **error_responses(404)},
    summary="Deactivate a product",
)
def deactivate_product(
    product_id: IdPath, _: Writer, uow: UnitOfWorkDep, runtime: RuntimeDep
) -> ProductOut:
    """Products stay for the orders that name them; a deactivated one is not sold."""
    return _edited(lambda: catalog.deactivate_product(uow, runtime.cache, product_id))
