"""The FAQ the assistant answers from: operators manage it (`knowledge:write`), anyone
with `knowledge:read` can list it and try what a question would retrieve."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from api.auth.principal import Principal
from api.deps import SessionDep, require
from api.errors import ProblemError, error_responses
from api.models.common import IdPath
from api.models.knowledge import (
    KnowledgeChange,
    KnowledgeCreate,
    KnowledgeHit,
    KnowledgeOut,
    Language,
)
from pipeline.knowledge import repository, retrieval, store
from schema.knowledge import KnowledgeEntry

router = APIRouter(prefix="/knowledge", tags=["knowledge"])
Reader = Annotated[Principal, Depends(require("knowledge:read"))]
Writer = Annotated[Principal, Depends(require("knowledge:write"))]
DENIED = error_responses(401, 403, 429)


def _entry(session: SessionDep, entry_id: int) -> KnowledgeEntry:
    entry = session.get(KnowledgeEntry, entry_id)
    if entry is None:
        raise ProblemError(404, "Not Found", f"no knowledge entry {entry_id}")
    return entry


@router.get("", responses=DENIED, summary="List FAQ entries")
def list_entries(
    _: Reader,
    session: SessionDep,
    language: Annotated[Language | None, Query(description="Only this language.")] = None,
    active: Annotated[bool | None, Query(description="Only active or inactive ones.")] = None,
) -> list[KnowledgeOut]:
    rows = repository.entries(session, language=language, active=active)
    return [KnowledgeOut.model_validate(row) for row in rows]


@router.get(
    "/search", responses={**DENIED, **error_responses(422)}, summary="Try what a question finds"
)
def search(
    _: Reader,
    session: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="A buyer's question.")],
    language: Annotated[Language, Query(description="The question's language.")],
) -> list[KnowledgeHit]:
    found = retrieval.search_faq(session, q, language, limit=5)
    found += retrieval.search_products(session, q, language, limit=5)
    return [KnowledgeHit(**doc.__dict__) for doc in found]


@contextmanager
def _checked() -> Iterator[None]:
    """The store's own rules (it strips as Python does, which differs from the schema's
    Unicode trimming for control characters such as U+001F) answer 422, not 500."""
    try:
        yield
    except store.BadEntry as exc:
        raise ProblemError(422, "Invalid request", str(exc)) from None


@router.get("/{entry_id}", responses={**DENIED, **error_responses(404)}, summary="One entry")
def get_entry(entry_id: IdPath, _: Reader, session: SessionDep) -> KnowledgeOut:
    return KnowledgeOut.model_validate(_entry(session, entry_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={**DENIED, **error_responses(422)},
    summary="Add an FAQ entry",
)
def create_entry(body: KnowledgeCreate, _: Writer, session: SessionDep) -> KnowledgeOut:
    with _checked():
        entry = store.create(session, store.EntryFields(**body.model_dump()))
    return KnowledgeOut.model_validate(entry)


@router.patch(
    "/{entry_id}",
    responses={**DENIED, **error_responses(404, 422)},
    summary="Change an FAQ entry",
)
def change_entry(
    entry_id: IdPath, body: KnowledgeChange, _: Writer, session: SessionDep
) -> KnowledgeOut:
    with _checked():
        changes = body.model_dump(exclude_none=True)
        entry = store.update(session, _entry(session, entry_id), changes)
    return KnowledgeOut.model_validate(entry)


@router.delete(
    "/{entry_id}",
    status_code=204,
    responses={**DENIED, **error_responses(404)},
    summary="Delete an FAQ entry (or PATCH active=false to keep it)",
)
def delete_entry(entry_id: IdPath, _: Writer, session: SessionDep) -> Response:
    session.delete(_entry(session, entry_id))
    return Response(status_code=204)
