"""The version is in the path (`/api/v1`). A route on its way out keeps working until its
sunset date and says so on every answer (docs/api.md, "Deprecation policy"):

    @router.get("/old", deprecated=True, dependencies=[deprecation(since=..., sunset=...)])

adds `Deprecation` (RFC 9745), `Sunset` (RFC 8594) and a `Link` to its successor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any

from fastapi import Depends, Response

API_PREFIX = "/api/v1"


def deprecation_headers(since: date, sunset: date, successor: str | None = None) -> dict[str, str]:
    since_at = datetime(since.year, since.month, since.day, tzinfo=UTC)
    sunset_at = datetime(sunset.year, sunset.month, sunset.day, tzinfo=UTC)
    headers = {
        "Deprecation": f"@{int(since_at.timestamp())}",
        "Sunset": format_datetime(sunset_at, usegmt=True),
    }
    if successor:
        headers["Link"] = f'<{successor}>; rel="successor-version"'
    return headers


def deprecation(since: date, sunset: date, successor: str | None = None) -> Any:
    """A route dependency that adds the deprecation headers to the route's answers."""
    if sunset <= since:
        raise ValueError("the sunset must come after the deprecation")
    headers = deprecation_headers(since, sunset, successor)

    def add_headers(response: Response) -> None:
        response.headers.update(headers)

    dependency: Callable[[Response], None] = add_headers
    return Depends(dependency)
