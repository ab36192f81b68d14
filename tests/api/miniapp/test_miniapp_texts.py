"""The Mini App's texts come from the gettext catalogues: `/app/i18n/<lang>.json` has every
key the page looks up, in that language, revalidated by ETag; the page holds no texts."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from fastapi.testclient import TestClient

from api.miniapp.static import STATIC
from pipeline.i18n import LANGUAGES
from pipeline.i18n.messages import MESSAGES
from pipeline.miniapp.shop import Method
from pipeline.miniapp.texts import TEXTS, page_texts

APP_JS = (STATIC / "app.js").read_text()


def test_every_key_the_page_looks_up_has_a_text() -> None:
    literal = set(re.findall(r'\bt\("([a-z_]+)"(?!\s*\+)', APP_JS))
    views = set(re.findall(r'data-view="([a-z]+)"', (STATIC / "index.html").read_text()))
    # Looked up by prefix: every order status the bot names, and every payment method.
    statuses = {k for k in MESSAGES if k.startswith("status_")} | {"status_receipt_issued"}
    methods = {f"method_{m}" for m in typing.get_args(Method)}
    assert literal and views and re.search(r't\("status_" \+', APP_JS)
    assert re.search(r't\("method_" \+', APP_JS)
    assert literal | views | statuses | methods <= set(TEXTS)


def test_the_page_has_no_texts_of_its_own() -> None:
    assert not (STATIC / "i18n.js").exists()
    assert "MINIAPP_TEXTS" not in APP_JS
    for path in Path(STATIC).iterdir():
        assert not re.search("[А-Яа-яЁё]", path.read_text()), path.name


def test_texts_in_each_language(api_client: TestClient) -> None:
    for lang in LANGUAGES:
        response = api_client.get(f"/app/i18n/{lang}.json")
        assert response.status_code == 200, lang
        assert response.headers["content-type"] == "application/json"
        assert response.json() == page_texts(lang) and set(response.json()) == set(TEXTS)
    ru = api_client.get("/app/i18n/ru.json").json()
    en = api_client.get("/app/i18n/en.json").json()
    assert (ru["cart"], en["cart"]) == ("Корзина", "Cart")
    assert (ru["status_receipt_issued"], en["status_receipt_issued"]) == (
        "чек выдан",
        "receipt issued",
    )


def test_an_unchanged_text_is_not_sent_again(api_client: TestClient) -> None:
    first = api_client.get("/app/i18n/ru.json")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    again = api_client.get("/app/i18n/ru.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = api_client.get("/app/i18n/en.json", headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag


def test_a_language_without_a_catalogue_is_not_found(api_client: TestClient) -> None:
    assert api_client.get("/app/i18n/xx.json").status_code == 404
    assert api_client.get("/app/i18n/..%2Fapp.json").status_code == 404
