"""The `web_app` button that opens the Mini App, under /start and /catalog."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo
from loguru import logger

from bot.i18n import t
from pipeline.miniapp.config import miniapp_url
from pipeline.settings import Settings


def open_button(settings: Settings) -> InlineKeyboardButton | None:
    """None unless the Mini App has an HTTPS address: Telegram refuses a message whose
    web_app button is anything else (plain HTTP is for a local browser only)."""
    try:
        url = miniapp_url(settings)
    except ValueError as exc:
        logger.debug("no Mini App button: {}", exc)
        return None
    if not url.startswith("https://"):
        return None
    return InlineKeyboardButton(text=t("miniapp_open"), web_app=WebAppInfo(url=url))


def with_open_button(
    markup: InlineKeyboardMarkup | None, settings: Settings
) -> InlineKeyboardMarkup | None:
    button = open_button(settings)
    if button is None:
        return markup
    rows = list(markup.inline_keyboard) if markup else []
    return InlineKeyboardMarkup(inline_keyboard=[*rows, [button]])
