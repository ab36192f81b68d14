"""Keyset pagination shared by the list routes: newest first, `cursor` = last id seen."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

T = TypeVar("T")

CursorQuery = Annotated[
    int | None, Query(ge=1, le=2**63 - 1, description="`next_cursor` of the previous page")
]
LimitQuery = Annotated[int, Query(ge=1, le=200)]


class Page(BaseModel):
    next_cursor: int | None = Field(
        None, description="Pass as `cursor` for the next (older) page; null on the last page."
    )


def keyset(
    session: Session,
    stmt: Select[Any],
    id_column: InstrumentedAttribute[int],
    cursor: int | None,
    limit: int,
) -> tuple[list[Any], int | None]:
    if cursor is not None:
        stmt = stmt.where(id_column < cursor)
    rows = list(session.scalars(stmt.order_by(id_column.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (getattr(rows[-1], id_column.key) if more and rows else None)
