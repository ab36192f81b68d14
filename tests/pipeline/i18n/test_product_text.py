"""Product texts by locale from the columns and the `translations` JSONB, with a fallback:
a language is added by a catalogue and the operators' translations, no migration."""

from __future__ import annotations

from pipeline.miniapp.shop import localized
from pipeline.shop.catalog import product_text
from schema import Product


def _product(**fields: object) -> Product:
    base: dict[str, object] = {"code": "tea", "title_ru": "Чай", "title_en": "Tea"}
    return Product(**{**base, "price_minor": 100, "currency": "RUB", **fields})


def test_a_further_language_reads_its_translation() -> None:
    product = _product(translations={"de": {"title": "Tee", "description": "Grün"}})
    assert product_text(product, "de") == {"title": "Tee", "description": "Grün"}
    assert product_text(product, "ru")["title"] == "Чай"


def test_missing_or_empty_texts_fall_back() -> None:
    product = _product(title_en="", translations={"de": {"title": " ", "description": "x"}})
    assert product_text(product, "de", default="ru")["title"] == "Чай"
    assert product_text(product, "en")["title"] == "Чай"  # any language before the code
    assert product_text(_product(title_ru="", title_en=""), "fr")["title"] == "tea"


def test_the_mini_app_reads_the_same_texts() -> None:
    product = _product(translations={"de": {"title": "Tee", "description": ""}})
    assert localized(product, "de", "en")["title"] == "Tee"
    assert localized(product, "fr", "en")["title"] == "Tea"
