"""Keyset pagination shared by the list routes: newest first, `cursor` = last id seen.

The repositories return the rows below the cursor, newest first; a route asks for one
more than `limit` and `keyset_page` keeps `limit`, telling from the extra one whether a
next page exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Protocol, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field


class _HasId(Protocol):
    @property
    def id(self) -> int: ...


Row = TypeVar("Row", bound=_HasId)

CursorQuery = Annotated[
    int | None, Query(ge=1, le=2**63 - 1, description="`next_cursor` of the previous page")
]
LimitQuery = Annotated[int, Query(ge=1, le=200)]


class Page(BaseModel):
    next_cursor: int | None = Field(
        None, description="Pass as `cursor` for the next (older) page; null on the last page."
    )


def keyset_page(rows: Sequence[Row], limit: int) -> tuple[list[Row], int | None]:
    """`rows`: up to `limit + 1`, newest first. The page, and the cursor of the next one
    (None on the last page)."""
    page = list(rows[:limit])
    return page, (page[-1].id if len(rows) > limit and page else None)
