"""Parameter types shared by every resource's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

# Database ids are BIGINT: larger numbers are a 422 here, not a database error.
MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, examples=[42])]
