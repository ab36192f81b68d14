"""`web_app_data`: what a keyboard-button Mini App sends back with `WebApp.sendData`,
arriving as an ordinary message update through the webhook."""

from __future__ import annotations

import json

from aiogram import F, Router
from aiogram.types import Message

from bot.handlers.orders import orders
from bot.handlers.shop import catalog
from bot.i18n import t
from bot.middlewares import from_customer
from pipeline.settings import Settings
from pipeline.shop.storefront import Storefront
from schema.users import User


async def web_app_data(
    message: Message, shop: Storefront, user: User, lang: str, settings: Settings
) -> None:
    """`{"action": "catalog"}` or `{"action": "orders"}`; anything else is answered politely."""
    raw = message.web_app_data.data if message.web_app_data else ""
    try:
        action = json.loads(raw).get("action")
    except (ValueError, AttributeError):
        action = None
    if action == "catalog":
        await catalog(message, shop, lang, settings)
    elif action == "orders":
        await orders(message, shop, user, lang, settings)
    else:
        await message.answer(t("miniapp_data_unknown"))


def create_router() -> Router:
    router = Router(name="miniapp")
    router.message.filter(from_customer)
    router.message.register(web_app_data, F.web_app_data)
    return router
