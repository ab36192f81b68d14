"""Every locale has every message, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from pipeline.i18n import CATALOGS, FALLBACK, greeting, pick_language, text
from pipeline.settings import Settings


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("lang", sorted(CATALOGS))
def test_catalog_is_complete(lang: str) -> None:
    reference, catalog = CATALOGS[FALLBACK], CATALOGS[lang]
    assert set(catalog) == set(reference), set(catalog) ^ set(reference)
    for key, template in reference.items():
        assert placeholders(catalog[key]) == placeholders(template), key
        assert catalog[key].strip(), key


def test_language_from_telegram_code() -> None:
    assert pick_language("ru") == "ru"
    assert pick_language("en-US") == "en"
    assert pick_language("de", "ru") == "ru"
    assert pick_language(None) == "en"


def test_text_renders_params() -> None:
    assert "ord-1" in text("ru", "receipt_ready", order="ord-1", url="https://ofd")


@pytest.mark.parametrize("lang", sorted(CATALOGS))
@pytest.mark.parametrize("shop", ["", "  ", "Tea & Co"])
def test_greeting_reads_well_with_or_without_a_shop_name(lang: str, shop: str) -> None:
    first_line = greeting(lang, "Ann", shop).splitlines()[0]
    assert "Ann" in first_line
    assert "  " not in first_line and " ." not in first_line and "«»" not in first_line
    assert ("Tea & Co" in first_line) == bool(shop.strip())


def test_the_greeting_names_no_shop_by_default() -> None:
    assert Settings(_env_file=None).shop_name == ""
    assert greeting("en", "Ann", Settings(_env_file=None).shop_name).startswith(
        "Hello, Ann! Here you can choose our products"
    )
