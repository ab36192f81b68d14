"""OpenAPI, Swagger UI and ReDoc: served from this process, complete for every route."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from api.errors import install_error_handlers
from api.versioning import deprecation

SUCCESS_WITHOUT_BODY = {"204", "302"}


@pytest.fixture
def schema(api_client: TestClient) -> dict[str, Any]:
    response = api_client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


@pytest.mark.parametrize("page", ["/api/docs", "/api/redoc"])
def test_docs_pages_load_only_local_assets(api_client: TestClient, page: str) -> None:
    html = api_client.get(page).text
    assert "/api/v1/openapi.json" in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/api/docs-assets/") for s in sources), sources
    assert "cdn" not in html and "fonts.googleapis" not in html
    for source in sources:
        asset = api_client.get(source)
        assert asset.status_code == 200 and len(asset.content) > 1000, source
    # A strict policy: this origin's files, inline scripts only by their hash.
    policy = api_client.get(page).headers["content-security-policy"]
    assert "default-src 'none'" in policy and "'unsafe-eval'" not in policy
    script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    assert ("'sha256-" in script_src) == ("<script>" in html)


def test_json_answers_allow_nothing_to_run(api_client: TestClient) -> None:
    headers = api_client.get("/api/v1/auth/oauth/providers").headers
    assert headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert headers["x-content-type-options"] == "nosniff"


def test_security_schemes_are_declared(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["AccessToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["AccessToken"]["description"],
    }
    assert schemes["ApiKey"]["in"] == "header" and schemes["ApiKey"]["name"] == "X-API-Key"
    me = schema["paths"]["/api/v1/auth/me"]["get"]
    assert {"AccessToken": []} in me["security"] and {"ApiKey": []} in me["security"]


def test_every_route_has_a_model_errors_and_a_summary(schema: dict[str, Any]) -> None:
    problems = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            responses = operation["responses"]
            if not operation.get("summary"):
                problems.append(f"{where}: no summary")
            for status, answer in responses.items():
                if status.startswith("2") and status not in SUCCESS_WITHOUT_BODY:
                    body = answer.get("content", {}).get("application/json", {}).get("schema")
                    if not body or body == {}:
                        problems.append(f"{where}: {status} has no response model")
            errors = [s for s in responses if s[0] in "45"]
            for status in errors:
                content = responses[status].get("content", {})
                if "application/problem+json" not in content:
                    problems.append(f"{where}: {status} is not a problem document")
    assert not problems, "\n".join(problems)


def test_problem_schema_is_rfc_9457(schema: dict[str, Any]) -> None:
    fields = schema["components"]["schemas"]["Problem"]["properties"]
    assert {"type", "title", "status", "detail", "instance", "errors"} <= set(fields)


def test_deprecation_headers_mark_a_route_on_its_way_out() -> None:
    router = APIRouter()

    @router.get(
        "/old",
        deprecated=True,
        dependencies=[deprecation(date(2026, 1, 1), date(2026, 7, 1), "/api/v2/new")],
    )
    def old() -> dict[str, str]:
        return {"ok": "yes"}

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    response = TestClient(app).get("/old")
    assert response.headers["deprecation"] == "@1767225600"
    assert response.headers["sunset"] == "Wed, 01 Jul 2026 00:00:00 GMT"
    assert response.headers["link"] == '</api/v2/new>; rel="successor-version"'
    assert app.openapi()["paths"]["/old"]["get"]["deprecated"] is True
    with pytest.raises(ValueError):
        deprecation(date(2026, 7, 1), date(2026, 1, 1))
