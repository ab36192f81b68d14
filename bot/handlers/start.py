"""/start, /help, /language."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from pipeline.i18n import LANGUAGES, text
from pipeline.shop.service import reactivate
from schema.users import User

router = Router(name="start")
NAMES = {"ru": "Русский", "en": "English"}


def languages_keyboard() -> InlineKeyboardMarkup:
    buttons = [InlineKeyboardButton(text=NAMES[c], callback_data=f"lang:{c}") for c in LANGUAGES]
    return InlineKeyboardMarkup(inline_keyboard=[buttons])


@router.message(CommandStart())
async def start(message: Message, user: User, lang: str) -> None:
    reactivate(user)
    name = user.first_name or user.username or ""
    await message.answer(text(lang, "start", name=name, shop=""))
    await message.answer(text(lang, "change_language"), reply_markup=languages_keyboard())


@router.message(Command("help"))
async def help_(message: Message, lang: str) -> None:
    await message.answer(text(lang, "help"))


@router.message(Command("language"))
async def language(message: Message, lang: str) -> None:
    await message.answer(text(lang, "change_language"), reply_markup=languages_keyboard())


@router.callback_query(F.data.startswith("lang:"))
async def set_language(query: CallbackQuery, user: User) -> None:
    code = (query.data or "").split(":", 1)[1]
    if code in LANGUAGES:
        user.language = code
    await query.answer()
    if query.message is not None:
        await query.message.answer(text(user.language, "language_set"))
