"""User-facing texts in every supported language: `text(lang, key, **params)`.

Catalogs are Python dicts per locale (no compile step); a test checks that every
locale has every key with the same placeholders.
"""

from __future__ import annotations

from typing import Any

from pipeline.i18n import en, ru

CATALOGS: dict[str, dict[str, str]] = {"en": en.MESSAGES, "ru": ru.MESSAGES}
LANGUAGES = tuple(CATALOGS)
FALLBACK = "en"


def pick_language(telegram_code: str | None, default: str = FALLBACK) -> str:
    """The catalog for a Telegram `language_code` (e.g. "ru", "en-US")."""
    base = (telegram_code or "").split("-")[0].lower()
    return base if base in CATALOGS else default


def text(lang: str, key: str, **params: Any) -> str:
    catalog = CATALOGS.get(lang, CATALOGS[FALLBACK])
    template = catalog.get(key) or CATALOGS[FALLBACK][key]
    return template.format(**params)


def greeting(lang: str, name: str, shop: str = "") -> str:
    """The /start text: it names the shop only when there is a name to give."""
    if shop.strip():
        return text(lang, "start_shop", name=name, shop=shop.strip())
    return text(lang, "start", name=name)
