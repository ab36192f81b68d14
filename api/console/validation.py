"""Turning a console form into a checked body: the API's own pydantic models, so a page
and `/api/v1` accept exactly the same input; what is wrong becomes one readable 422."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from api.console.errors import ConsoleError
from api.models.common import MAX_ID

Model = TypeVar("Model", bound=BaseModel)


class FormInvalid(ConsoleError):
    """A form to show again with `message` above it (status 422 unless said)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(status, message)


def _where(loc: tuple[int | str, ...], labels: dict[str, str]) -> str:
    path = ".".join(str(part) for part in loc)
    if loc[0] == "translations" and len(loc) >= 3:  # by language: {"de": {"title": …}}
        if loc[-1] == "[key]":
            return f"Language {loc[1]}"
        return f"{str(loc[2]).capitalize()} ({loc[1]})"
    return labels.get(path) or labels.get(str(loc[0])) or path


def explain(exc: ValidationError, labels: dict[str, str]) -> str:
    """'Price: Input should be greater than or equal to 0; Code: …' in the form's words."""
    parts = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{_where(tuple(error['loc']), labels)}: {message}")
    return "; ".join(parts)


def checked(model: type[Model], data: dict[str, Any], labels: dict[str, str]) -> Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise FormInvalid(explain(exc, labels)) from None


def optional_int(value: str, label: str) -> int | None:
    text = value.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise FormInvalid(f"{label}: a whole number is needed, not {text[:40]!r}") from None


def minor_units(value: str, label: str) -> int:
    """'1500', '1500.5' or '1 500,50' (major units, two decimals) as minor units."""
    text = value.strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise FormInvalid(f"{label}: a number such as 1500.00 is needed") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise FormInvalid(f"{label}: at most two decimals")
    return int(amount * 100)


def sentence(error: Exception | str) -> str:
    """A service's message ('no product 7') as a sentence for the page."""
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def path_id(name: str, what: str) -> Any:
    """A numeric id from the path, as a dependency: anything else (`/admin/catalog/abc`, an
    id past BIGINT) is a 404 page like an id that does not exist, not a JSON 422. Put it
    after the permission dependency, so a caller without the right still gets 403."""

    def dependency(request: Request) -> int:
        raw = str(request.path_params.get(name, ""))
        if raw.isdigit() and 0 < int(raw) <= MAX_ID:
            return int(raw)
        raise ConsoleError(404, f"There is no {what} {raw[:40]!r}.")

    return Depends(dependency)
