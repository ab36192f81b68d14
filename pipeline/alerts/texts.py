"""The operators' alert texts in ALERT_LOCALE, from the gettext catalogues.

Call sites mark their msgids with `N_`/`NP_` (pybabel finds them there) and render them
here. Numbers are given ready-written; a count that picks a plural form is `count`.
"""

from __future__ import annotations

from typing import Any

from pipeline.i18n import gettext, ngettext, pick_language, render
from pipeline.i18n.formats import number
from pipeline.i18n.messages import N_, NP_
from pipeline.settings import Settings

__all__ = ["NP_", "N_", "alert_language", "say", "say_n"]


def alert_language(settings: Settings) -> str:
    """The operators' language; one without a catalogue reads English."""
    return pick_language(settings.alert_locale)


def say(settings: Settings, msgid: str, **params: Any) -> str:
    lang = alert_language(settings)
    return render(gettext(lang, msgid), lang, params)


def say_n(settings: Settings, forms: tuple[str, str], count: int, **params: Any) -> str:
    """The plural form for `count`, which is written in the locale as {count}."""
    lang = alert_language(settings)
    template = ngettext(lang, forms[0], forms[1], count)
    return render(template, lang, {"count": number(count, lang), **params})
