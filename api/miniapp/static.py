"""`/app/`: the Mini App's page and assets, served from this package (no build step).

The page loads Telegram's `telegram-web-app.js` (Telegram requires it) and, besides, only
product photos (https://, checked when written); the Content-Security-Policy says so to the
browser as well. Its texts come from the gettext catalogues (`/app/i18n/<lang>.json`,
pipeline/miniapp/texts.py), rendered once at start-up and revalidated by ETag.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
from fastapi import FastAPI, HTTPException, Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from pipeline.i18n import LANGUAGES
from pipeline.miniapp.texts import page_texts

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


def _texts_bodies() -> dict[str, tuple[bytes, str]]:
    """Each language's texts as JSON with its ETag (the catalogues are read once per
    process, so the bodies cannot change while it runs)."""
    bodies: dict[str, tuple[bytes, str]] = {}
    for lang in LANGUAGES:
        body = orjson.dumps(page_texts(lang), option=orjson.OPT_SORT_KEYS)
        bodies[lang] = (body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    return bodies


def install_miniapp(app: FastAPI) -> None:
    texts = _texts_bodies()

    @app.get("/app", include_in_schema=False)
    def to_app() -> RedirectResponse:
        return RedirectResponse("/app/")

    # Before the mount of /app/, which would otherwise answer for this path.
    @app.get("/app/i18n/{lang}.json", include_in_schema=False)
    def miniapp_texts(lang: str, request: Request) -> Response:
        if lang not in texts:
            raise HTTPException(404, "no texts in this language")
        body, etag = texts[lang]
        headers = {"ETag": etag, "Cache-Control": "no-cache", "Content-Security-Policy": CSP}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)

    app.mount("/app/", MiniAppFiles(directory=STATIC, html=True), name="miniapp")
