"""Messages for the operator: a flash shown on the next full page (kept in Redis for a few
minutes under the login session), or a toast on an htmx answer (`HX-Trigger: toast`)."""

from __future__ import annotations

import json
from typing import Literal

from starlette.responses import Response

from api.console.auth import Console
from api.runtime import ApiRuntime

Kind = Literal["info", "success", "error"]
TTL_S = 300


def _key(runtime: ApiRuntime, console: Console) -> str:
    return f"{runtime.settings.queue_prefix}console:flash:{console.principal.session_id}"


def flash(runtime: ApiRuntime, console: Console, message: str, kind: Kind = "success") -> None:
    """Shown on the next page this session renders (after a redirect)."""
    key = _key(runtime, console)
    runtime.redis.rpush(key, json.dumps({"message": message, "kind": kind}))
    runtime.redis.expire(key, TTL_S)


def take_flashes(runtime: ApiRuntime, console: Console) -> list[dict[str, str]]:
    key = _key(runtime, console)
    pipe = runtime.redis.pipeline()
    pipe.lrange(key, 0, -1)
    pipe.delete(key)
    raw, _ = pipe.execute()
    return [json.loads(item) for item in raw]


def toast(response: Response, message: str, kind: Kind = "success") -> Response:
    """Shown at once by console.js when htmx receives this answer."""
    response.headers["HX-Trigger"] = json.dumps({"toast": {"message": message, "kind": kind}})
    return response
