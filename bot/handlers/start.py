"""/start, /help, /language."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.webapp_button import with_open_button
from pipeline.i18n import LANGUAGES, greeting, text
from pipeline.settings import get_settings
from pipeline.shop.service import reactivate
from schema.users import User

NAMES = {"ru": "Русский", "en": "English"}


def languages_keyboard() -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text=NAMES[c], callback_data=f"lang:{c}") for c in LANGUAGES]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


async def start(message: Message, user: User, lang: str) -> None:
    reactivate(user)
    name = user.first_name or user.username or ""
    await message.answer(
        greeting(lang, name, get_settings().shop_name), reply_markup=with_open_button(lang, None)
    )
    await message.answer(text(lang, "change_language"), reply_markup=languages_keyboard())


async def help_(message: Message, lang: str) -> None:
    await message.answer(text(lang, "help"))


async def language(message: Message, lang: str) -> None:
    await message.answer(text(lang, "change_language"), reply_markup=languages_keyboard())


async def set_language(query: CallbackQuery, user: User) -> None:
    code = (query.data or "").split(":", 1)[1]
    if code in LANGUAGES:
        user.language = code
    await query.answer()
    if query.message is not None:
        await query.message.answer(text(user.language, "language_set"))


def create_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="start")
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help"))
    router.message.register(language, Command("language"))
    router.callback_query.register(set_language, F.data.startswith("lang:"))
    return router
