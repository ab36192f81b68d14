"""Swagger UI at /api/docs and ReDoc at /api/redoc, served from this process: the
JavaScript and CSS come from the `fastapi-offline` package's files, so the docs work
offline and under a CSP that allows only this origin."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

OPENAPI_URL = "/api/v1/openapi.json"
ASSETS_URL = "/api/docs-assets"


def assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_TEXTS = {"400": "Malformed body", "422": "Invalid request", "500": "Internal error"}


def problem_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with its 422 answers described as what this API sends (problem
    documents with field errors) and the possible 500 on every operation."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    for item in document.get("paths", {}).values():
        for operation in item.values():
            responses = operation.setdefault("responses", {})
            wanted = {"422": "422" in responses, "500": True}
            # A body that is not JSON at all is refused before validation.
            wanted["400"] = "requestBody" in operation or "400" in responses
            for status, present in wanted.items():
                if present:
                    responses[status] = {
                        "description": PROBLEM_TEXTS[status],
                        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
                    }
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = document
    return document


def with_csp(page: HTMLResponse) -> HTMLResponse:
    """The page with a policy allowing only this origin's files and its own inline script
    (by hash), so the docs work under a strict CSP without 'unsafe-inline' scripts."""
    html = bytes(page.body).decode()
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in re.findall(r"<script>(.*?)</script>", html, re.S)
    )
    page.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
    return page


def install_docs(app: FastAPI) -> None:
    app.openapi = lambda: problem_openapi(app)  # type: ignore[method-assign]
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")
    title = app.title

    @app.get("/api/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return with_csp(
            get_swagger_ui_html(
                openapi_url=OPENAPI_URL,
                title=f"{title} — Swagger UI",
                swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
                swagger_ui_parameters={
                    "persistAuthorization": True,
                    "displayRequestDuration": True,
                },
            )
        )

    @app.get("/api/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return with_csp(
            get_redoc_html(
                openapi_url=OPENAPI_URL,
                title=f"{title} — ReDoc",
                redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
                with_google_fonts=False,
            )
        )
