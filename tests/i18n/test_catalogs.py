"""Every locale has every message, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from pipeline.i18n import CATALOGS, FALLBACK, pick_language, text


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
