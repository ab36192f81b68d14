"""The bot's language: aiogram's I18n over the shared gettext catalogues.

The locale of an update is the user's stored language (chosen with /language or taken
from Telegram on first contact), else Telegram's `language_code`, else DEFAULT_LANGUAGE.
Handlers write `_("…")` (aiogram's gettext) for their own texts and `t(key)` for the
keyed messages the workers share; `lang` in the handler data is the same locale, for
money, dates and product texts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import TelegramObject
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18n, I18nMiddleware
from aiogram.utils.i18n import gettext as aiogram_gettext
from aiogram.utils.i18n import ngettext as aiogram_ngettext

from pipeline.i18n import pick_language, render
from pipeline.i18n.catalogues import DOMAIN, compiled_dir
from pipeline.i18n.formats import number
from pipeline.i18n.messages import MESSAGES, PLURALS
from schema.users import User

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def make_i18n(default_language: str) -> I18n:
    return I18n(path=compiled_dir(), default_locale=default_language, domain=DOMAIN)


def current_locale() -> str:
    """The update's locale (set by `UserLocale` for every handler)."""
    return I18n.get_current(no_error=False).current_locale


def t(key: str, **params: Any) -> str:
    """A keyed message (pipeline/i18n/messages.py) in the update's locale."""
    return render(aiogram_gettext(MESSAGES[key]), current_locale(), params)


def tn(key: str, count: int, **params: Any) -> str:
    """A plural message (`PLURALS`) for `count`, in the update's locale."""
    singular, plural = PLURALS[key]
    lang = current_locale()
    return render(
        aiogram_ngettext(singular, plural, count), lang, {"count": number(count, lang), **params}
    )


class UserLocale(I18nMiddleware):
    """Runs after the user middleware (inner, registered later), so it sees the user."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        known = self.i18n.available_locales
        user: User | None = data.get("user")
        if user is not None and user.language in known:
            return user.language
        sender: TgUser | None = data.get("event_from_user")
        found = pick_language(sender.language_code if sender else None, self.i18n.default_locale)
        return found if found in known else self.i18n.default_locale

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data["lang"] = await self.get_locale(event, data)
        return await super().__call__(handler, event, data)
