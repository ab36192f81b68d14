"""The last router: a button whose data no handler took (made by an older version of
the bot, or forged) gets a polite answer, so the user's client stops waiting."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery

from bot.i18n import t


async def unknown_button(query: CallbackQuery) -> None:
    await query.answer(t("button_invalid"))


def create_router() -> Router:
    router = Router(name="fallback")
    router.callback_query.register(unknown_button)
    return router
