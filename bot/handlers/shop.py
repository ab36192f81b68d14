"""/catalog, buying (Telegram Payments, Stars, YooKassa link) and the pre-checkout query."""

from __future__ import annotations

import asyncio

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
)
from loguru import logger

from bot.callbacks import BuyProduct, PayProduct
from bot.i18n import t
from bot.middlewares import from_customer
from bot.webapp_button import with_open_button
from pipeline.deps import Deps
from pipeline.events.errors import PermanentError, TransientError
from pipeline.i18n.formats import money
from pipeline.payments import links
from pipeline.settings import Settings
from pipeline.shop.catalog import product_text
from pipeline.shop.storefront import Storefront
from schema.catalog import Product
from schema.users import User


def title_of(product: Product, lang: str, settings: Settings) -> str:
    return product_text(product, lang, settings.default_language)["title"]


async def catalog(message: Message, shop: Storefront, lang: str, settings: Settings) -> None:
    items = shop.on_sale()
    if not items:
        await message.answer(t("catalog_empty"))
        return
    rows = [
        [
            InlineKeyboardButton(
                text=f"{title_of(p, lang, settings)} — {money(p.price_minor, p.currency, lang)}",
                callback_data=BuyProduct(product_id=p.id).pack(),
            )
        ]
        for p in items
    ]
    markup = with_open_button(InlineKeyboardMarkup(inline_keyboard=rows), settings)
    await message.answer(t("catalog_title"), reply_markup=markup)


async def _for_sale(query: CallbackQuery, shop: Storefront, product_id: int) -> Product | None:
    """The product a button names, re-checked now: it may have been withdrawn since the
    catalogue was shown. Answers the query politely when there is nothing to sell."""
    product = shop.product_for_sale(product_id)
    if product is None:
        await query.answer(t("product_unavailable"))
        return None
    await query.answer()
    return product


async def choose_method(
    query: CallbackQuery,
    callback_data: BuyProduct,
    shop: Storefront,
    lang: str,
    settings: Settings,
    deps: Deps,
) -> None:
    product = await _for_sale(query, shop, callback_data.product_id)
    if product is None or query.message is None:
        return
    methods = []
    if settings.telegram_payment_provider_token:
        methods.append(("card", t("pay_card")))
    if product.stars_price:
        methods.append(("stars", t("pay_stars", stars=product.stars_price)))
    if links.available(deps.providers):
        methods.append(("link", t("pay_link")))
    rows = [
        [
            InlineKeyboardButton(
                text=label,
                callback_data=PayProduct(method=method, product_id=product.id).pack(),
            )
        ]
        for method, label in methods
    ]
    await query.message.answer(
        t("choose_payment", title=title_of(product, lang, settings)),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def pay(
    query: CallbackQuery,
    callback_data: PayProduct,
    shop: Storefront,
    user: User,
    lang: str,
    settings: Settings,
    deps: Deps,
) -> None:
    product = await _for_sale(query, shop, callback_data.product_id)
    if product is None or query.message is None:
        return
    method = callback_data.method
    if method == "link" and links.available(deps.providers):
        await pay_by_link(query.message, shop, user, lang, product, deps)
        return
    token = settings.telegram_payment_provider_token
    if method == "stars" and product.stars_price:
        order = shop.create_order(user, product, "stars")
        provider_token, currency = "", "XTR"
    elif method == "card" and token is not None:
        order = shop.create_order(user, product, "telegram")
        provider_token, currency = token.get_secret_value(), product.currency
    else:
        await query.message.answer(t("payment_unavailable"))
        return
    texts = product_text(product, lang, settings.default_language)
    await query.message.answer_invoice(
        title=texts["title"][:32],
        description=(texts["description"] or texts["title"])[:255],
        payload=order.public_id,
        provider_token=provider_token,
        currency=currency,
        prices=[LabeledPrice(label=texts["title"][:32], amount=order.amount_minor)],
    )


async def pay_by_link(
    message: Message | InaccessibleMessage,
    shop: Storefront,
    user: User,
    lang: str,
    product: Product,
    deps: Deps,
) -> None:
    order = shop.create_order(user, product, "yookassa")
    title, back = title_of(product, lang, deps.settings), deps.settings.public_base_url
    api = deps.apis.yookassa  # built here, on the loop's thread, on first use
    try:
        # Only the HTTP call leaves the loop's thread; the session stays here.
        payment = await asyncio.to_thread(links.create_link, order, title, back, api)
    except (PermanentError, TransientError) as exc:
        logger.warning("YooKassa payment for {} not created: {}", order.public_id, exc)
        await message.answer(t("payment_unavailable"))
        return
    url = shop.remember_link(order, payment)
    button = InlineKeyboardButton(text=t("pay_link"), url=url)
    await message.answer(
        t("pay_link_ready", order=order.public_id, url=url),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
    )


async def pre_checkout(query: PreCheckoutQuery, shop: Storefront) -> None:
    valid = shop.checkout_ok(
        query.invoice_payload, query.total_amount, query.currency, query.from_user.id
    )
    if valid:
        await query.answer(ok=True)
    else:
        await query.answer(ok=False, error_message=t("checkout_invalid"))


async def paid(message: Message) -> None:
    """Recorded by the payments domain from the same update; its outbox says thank you."""


def create_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="shop")
    router.message.filter(from_customer)
    router.callback_query.filter(from_customer)
    router.pre_checkout_query.filter(from_customer)
    router.message.register(catalog, Command("catalog"))
    router.callback_query.register(choose_method, BuyProduct.filter())
    router.callback_query.register(pay, PayProduct.filter())
    router.pre_checkout_query.register(pre_checkout)
    router.message.register(paid, F.successful_payment)
    return router
