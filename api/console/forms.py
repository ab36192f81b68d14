"""Reading `application/x-www-form-urlencoded` bodies (what the console's forms and htmx
send) without python-multipart: small bodies only, one value per name."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from api.console.errors import ConsoleError

MAX_BODY = 64 * 1024


async def read_form(request: Request) -> dict[str, str]:
    cached: dict[str, str] | None = getattr(request.state, "console_form", None)
    if cached is not None:
        return cached
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ConsoleError(413, "The form is too large.")
    form: dict[str, str] = {}
    if body and kind == "application/x-www-form-urlencoded":
        try:
            text = body.decode()
        except UnicodeDecodeError:
            raise ConsoleError(400, "The form is not valid UTF-8.") from None
        for key, value in parse_qsl(text, keep_blank_values=True, max_num_fields=200):
            form.setdefault(key, value.replace("\x00", ""))
    request.state.console_form = form
    return form
