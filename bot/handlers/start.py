"""/start, /help, /language."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n

from bot.callbacks import LanguageChoice
from bot.i18n import t
from bot.middlewares import from_customer
from bot.webapp_button import with_open_button
from pipeline.i18n import LANGUAGES, greeting, language_name
from pipeline.settings import Settings
from pipeline.shop.storefront import Storefront
from schema.users import User


def languages_keyboard() -> InlineKeyboardMarkup:
    """One button per catalogue, each named in its own language."""
    buttons = [
        InlineKeyboardButton(
            text=language_name(code), callback_data=LanguageChoice(code=code).pack()
        )
        for code in LANGUAGES
    ]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


async def start(
    message: Message, user: User, lang: str, shop: Storefront, settings: Settings
) -> None:
    shop.reactivate(user)
    name = user.first_name or user.username or ""
    await message.answer(
        greeting(lang, name, settings.shop_name), reply_markup=with_open_button(None, settings)
    )
    await message.answer(t("change_language"), reply_markup=languages_keyboard())


async def help_(message: Message) -> None:
    await message.answer(t("help"))


async def language(message: Message) -> None:
    await message.answer(t("change_language"), reply_markup=languages_keyboard())


async def set_language(
    query: CallbackQuery, callback_data: LanguageChoice, user: User, i18n: I18n
) -> None:
    if callback_data.code not in LANGUAGES:  # well-formed, but no such catalogue
        await query.answer(t("button_invalid"))
        return
    user.language = callback_data.code
    await query.answer()
    if query.message is not None:
        with i18n.use_locale(user.language):  # the confirmation in the new language
            await query.message.answer(t("language_set"))


def create_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="start")
    router.message.filter(from_customer)
    router.callback_query.filter(from_customer)
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help"))
    router.message.register(language, Command("language"))
    router.callback_query.register(set_language, LanguageChoice.filter())
    return router
