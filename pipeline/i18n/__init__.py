"""User-facing texts in every supported language, from the gettext catalogues in
`pipeline/locales` (shared by the bot, the workers and the Mini App API).

`text(lang, key, **params)` renders a keyed message (pipeline/i18n/messages.py) and
`plural(lang, key, n)` a plural one; `gettext(lang, msgid)` translates a msgid marked
with `N_` for extraction (the bot's own texts use aiogram's `_()`, see bot/i18n.py).
Placeholders are `str.format` fields; a money param (`formats.money_param`) is written
in the reader's locale.
"""

from __future__ import annotations

from typing import Any

from babel import Locale

from pipeline.i18n.catalogues import po_files, translations
from pipeline.i18n.formats import localize_param, number
from pipeline.i18n.messages import COMMANDS, MESSAGES, PLURALS

FALLBACK = "en"  # the language of the msgids
LANGUAGES: tuple[str, ...] = tuple(sorted(po_files(), key=lambda code: code != FALLBACK))


def pick_language(telegram_code: str | None, default: str = FALLBACK) -> str:
    """The catalogue for a Telegram `language_code` (e.g. "ru", "en-US")."""
    base = (telegram_code or "").split("-")[0].lower()
    return base if base in LANGUAGES else default


def language_name(code: str) -> str:
    """The language's own name for itself ("Русский"), for the language buttons."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def gettext(lang: str, msgid: str) -> str:
    catalogue = translations().get(lang) or translations()[FALLBACK]
    return catalogue.gettext(msgid)


def ngettext(lang: str, singular: str, plural: str, n: int) -> str:
    catalogue = translations().get(lang) or translations()[FALLBACK]
    return catalogue.ngettext(singular, plural, n)


def render(template: str, lang: str, params: dict[str, Any]) -> str:
    return template.format(**{k: localize_param(v, lang) for k, v in params.items()})


def text(lang: str, key: str, **params: Any) -> str:
    return render(gettext(lang, MESSAGES[key]), lang, params)


def plural(lang: str, key: str, count: int, **params: Any) -> str:
    """A plural message (`PLURALS`): the form for `count`, written in the locale."""
    singular, many = PLURALS[key]
    template = ngettext(lang, singular, many, count)
    return render(template, lang, {"count": number(count, lang), **params})


def greeting(lang: str, name: str, shop: str = "") -> str:
    """The /start text: it names the shop only when there is a name to give."""
    if shop.strip():
        first = text(lang, "start_shop", name=name, shop=shop.strip())
    else:
        first = text(lang, "start", name=name)
    return f"{first}\n{gettext(lang, COMMANDS)}"
