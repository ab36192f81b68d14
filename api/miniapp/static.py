"""`/app/`: the Mini App's page and assets, served from this package (no build step).

The page loads Telegram's `telegram-web-app.js` (Telegram requires it) and, besides, only
product photos (https://, checked when written); the Content-Security-Policy says so to the
browser as well.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).parent / "static"
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
CSP = (
    "default-src 'self'; script-src 'self' https://telegram.org; style-src 'self'; "
    "img-src 'self' https:; connect-src 'self' ws: wss:; frame-ancestors https://web.telegram.org "
    "https://*.telegram.org 'self'"
)


class MiniAppFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Cache-Control"] = "no-cache"  # small files; new versions show at once
        return response


def install_miniapp(app: FastAPI) -> None:
    @app.get("/app", include_in_schema=False)
    def to_app() -> RedirectResponse:
        return RedirectResponse("/app/")

    app.mount("/app/", MiniAppFiles(directory=STATIC, html=True), name="miniapp")
