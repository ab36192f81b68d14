"""Product photos: only https:// or this server's /static/ paths are stored (the Mini App puts
them into <img src> for every buyer), through the operator API and `pipeline products
import`; the Mini App's catalogue carries them and its CSP lets them load."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli import app as cli
from pipeline.shop.images import check_image_url
from schema.catalog import Product
from tests.api.conftest import bearer
from tests.api.miniapp.miniapp_support import bot_api, client, tma

__all__ = ["bot_api", "client"]  # fixtures, for pytest
PHOTO = "https://cdn.example.com/tea.jpg"
PRODUCT = {
    "code": "tea",
    "price_minor": 25000,
    "translations": {"ru": {"title": "Чай"}, "en": {"title": "Tea"}},
}
REFUSED = [
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
    "http://cdn.example.com/tea.jpg",
    "//evil.example/tea.jpg",
    "https://user:pw@cdn.example.com/tea.jpg",
    "https:///tea.jpg",
    "https://cdn.example.com/a b.jpg",
    'https://cdn.example.com/"onerror=alert(1)',
    "/static/../api/v1/users",
    "/api/v1/users",
    "tea.jpg",
    "https://cdn.example.com/" + "x" * 2048,
]


@pytest.fixture
def operator(staff_token: Callable[..., str]) -> dict[str, str]:
    return bearer(staff_token("operator"))


@pytest.mark.parametrize("url", [PHOTO, "/static/products/tea.webp", "https://x.example/i?w=3"])
def test_https_and_static_paths_are_kept(url: str) -> None:
    assert check_image_url(url) == url


@pytest.mark.parametrize("url", REFUSED)
def test_anything_else_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="image_url"):
        check_image_url(url)


@pytest.mark.parametrize("url", REFUSED[:5])
def test_the_operator_api_refuses_unsafe_addresses_with_422(
    api_client: TestClient, operator: dict[str, str], url: str
) -> None:
    created = api_client.post(
        "/api/v1/products", json={**PRODUCT, "image_url": url}, headers=operator
    )
    assert created.status_code == 422, created.text
    assert "image_url" in created.text
    product = api_client.post("/api/v1/products", json=PRODUCT, headers=operator).json()
    changed = api_client.patch(
        f"/api/v1/products/{product['id']}", json={"image_url": url}, headers=operator
    )
    assert changed.status_code == 422, changed.text


def test_a_photo_is_set_cleared_and_shown_in_the_mini_app(
    client: TestClient,  # the fake Bot API's token first: it signs the buyer's initData
    operator: dict[str, str],
    db: sessionmaker[Session],
) -> None:
    api_client = client
    body = {**PRODUCT, "image_url": PHOTO}
    product = api_client.post("/api/v1/products", json=body, headers=operator).json()
    assert product["image_url"] == PHOTO
    [item] = api_client.get("/api/v1/miniapp/catalog", headers=tma(5)).json()["items"]
    assert item["image_url"] == PHOTO
    url = f"/api/v1/products/{product['id']}"
    kept = api_client.patch(url, json={"price_minor": 1}, headers=operator).json()
    assert kept["image_url"] == PHOTO, "a PATCH without image_url leaves it"
    assert (
        api_client.patch(url, json={"image_url": ""}, headers=operator).json()["image_url"] is None
    )
    with db() as session:
        assert session.scalars(select(Product.image_url)).one() is None
    csp = api_client.get("/app/").headers["content-security-policy"]
    assert "img-src 'self' https:;" in csp and "data:" not in csp


def test_products_import_checks_photos(
    db: sessionmaker[Session], api_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    base = {"title_ru": "Чай", "title_en": "Tea", "price_minor": 25000}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{**base, "code": "tea", "image_url": "javascript:alert(1)"}]))
    refused = CliRunner().invoke(cli, ["products", "import", str(bad)])
    assert refused.exit_code == 2 and "products[0] (tea)" in refused.output
    good = tmp_path / "good.json"
    good.write_text(json.dumps([{**base, "code": "tea", "image_url": PHOTO}]))
    assert CliRunner().invoke(cli, ["products", "import", str(good)]).exit_code == 0
    again = tmp_path / "again.json"
    again.write_text(json.dumps([{**base, "code": "tea", "price_minor": 1}]))
    assert CliRunner().invoke(cli, ["products", "import", str(again)]).exit_code == 0
    with db() as session:
        assert session.scalars(select(Product.image_url)).one() == PHOTO


def test_an_import_is_served_at_once_not_after_the_cache_expires(
    api_client: TestClient, operator: dict[str, str], tmp_path: Path
) -> None:
    """The API caches the catalogue for API_CACHE_TTL_S; an import drops it on commit."""
    base = {"title_ru": "Чай", "title_en": "Tea", "code": "tea-cached"}
    first = tmp_path / "first.json"
    first.write_text(json.dumps([{**base, "price_minor": 25000}]))
    assert CliRunner().invoke(cli, ["products", "import", str(first)]).exit_code == 0

    def price() -> int:
        listed = api_client.get("/api/v1/products", headers=operator)
        [item] = [p for p in listed.json() if p["code"] == "tea-cached"]
        return int(item["price_minor"])

    assert price() == 25000  # now cached
    second = tmp_path / "second.json"
    second.write_text(json.dumps([{**base, "price_minor": 19900}]))
    assert CliRunner().invoke(cli, ["products", "import", str(second)]).exit_code == 0
    assert price() == 19900
