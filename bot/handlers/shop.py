"""/catalog, buying (Telegram Payments, Stars, YooKassa link), pre-checkout, /orders."""

from __future__ import annotations

import asyncio
import re

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
from sqlalchemy.orm import Session

from bot.webapp_button import with_open_button
from pipeline.events.errors import PermanentError, TransientError
from pipeline.i18n import text
from pipeline.notifications.announce import format_amount
from pipeline.payments import links
from pipeline.settings import get_settings
from pipeline.shop.service import checkout_ok, create_order, products, user_orders
from schema.catalog import Product
from schema.users import User


def _title(product: Product, lang: str) -> str:
    return product.title_ru if lang == "ru" else product.title_en


async def catalog(message: Message, session: Session, lang: str) -> None:
    items = products(session)
    if not items:
        await message.answer(text(lang, "catalog_empty"))
        return
    rows = [
        [
            InlineKeyboardButton(
                text=f"{_title(p, lang)} — {format_amount(p.price_minor, p.currency)}",
                callback_data=f"buy:{p.id}",
            )
        ]
        for p in items
    ]
    markup = with_open_button(lang, InlineKeyboardMarkup(inline_keyboard=rows))
    await message.answer(text(lang, "catalog_title"), reply_markup=markup)


# Button data the bot makes: "buy:<product id>", "pay:<method>:<product id>".
PRODUCT_ID = re.compile(r"[1-9][0-9]{0,17}")  # fits a BIGINT
METHODS = ("card", "stars", "link")


def _product_id(value: str) -> int | None:
    return int(value) if PRODUCT_ID.fullmatch(value) else None


async def _for_sale(
    query: CallbackQuery, session: Session, lang: str, product_id: int | None
) -> Product | None:
    """The product a button names, re-checked now: it may have been withdrawn since the
    catalogue was shown. Answers the query politely when there is nothing to sell."""
    if product_id is None:
        await query.answer(text(lang, "button_invalid"))
        return None
    product = session.get(Product, product_id)
    if product is None or not product.is_active:
        await query.answer(text(lang, "product_unavailable"))
        return None
    await query.answer()
    return product


async def choose_method(query: CallbackQuery, session: Session, lang: str) -> None:
    _, _, rest = (query.data or "").partition(":")
    product = await _for_sale(query, session, lang, _product_id(rest))
    if product is None or query.message is None:
        return
    rows = []
    if get_settings().telegram_payment_provider_token:
        rows.append(
            [
                InlineKeyboardButton(
                    text=text(lang, "pay_card"), callback_data=f"pay:card:{product.id}"
                )
            ]
        )
    if product.stars_price:
        label = text(lang, "pay_stars", stars=product.stars_price)
        rows.append([InlineKeyboardButton(text=label, callback_data=f"pay:stars:{product.id}")])
    if links.available():
        label = text(lang, "pay_link")
        rows.append([InlineKeyboardButton(text=label, callback_data=f"pay:link:{product.id}")])
    await query.message.answer(
        text(lang, "choose_payment", title=_title(product, lang)),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


async def pay(query: CallbackQuery, session: Session, user: User, lang: str) -> None:
    parts = (query.data or "").split(":")
    valid = len(parts) == 3 and parts[1] in METHODS
    method = parts[1] if valid else ""
    product = await _for_sale(query, session, lang, _product_id(parts[2]) if valid else None)
    if product is None or query.message is None:
        return
    if method == "link" and links.available():
        await pay_by_link(query.message, session, user, lang, product)
        return
    token = get_settings().telegram_payment_provider_token
    if method == "stars" and product.stars_price:
        order = create_order(session, user, product, "stars")
        provider_token, currency = "", "XTR"
    elif method == "card" and token is not None:
        order = create_order(session, user, product, "telegram")
        provider_token, currency = token.get_secret_value(), product.currency
    else:
        await query.message.answer(text(lang, "payment_unavailable"))
        return
    await query.message.answer_invoice(
        title=_title(product, lang)[:32],
        description=(product.description_ru if lang == "ru" else product.description_en)
        or _title(product, lang),
        payload=order.public_id,
        provider_token=provider_token,
        currency=currency,
        prices=[LabeledPrice(label=_title(product, lang)[:32], amount=order.amount_minor)],
    )


async def pay_by_link(
    message: Message | InaccessibleMessage,
    session: Session,
    user: User,
    lang: str,
    product: Product,
) -> None:
    order = create_order(session, user, product, "yookassa")
    try:
        # Only the HTTP call leaves the loop's thread; the session stays here.
        payment = await asyncio.to_thread(links.create_link, order, _title(product, lang))
    except (PermanentError, TransientError) as exc:
        logger.warning("YooKassa payment for {} not created: {}", order.public_id, exc)
        await message.answer(text(lang, "payment_unavailable"))
        return
    url = links.remember(session, order, payment)
    button = InlineKeyboardButton(text=text(lang, "pay_link"), url=url)
    await message.answer(
        text(lang, "pay_link_ready", order=order.public_id, url=url),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]),
    )


async def pre_checkout(query: PreCheckoutQuery, session: Session, lang: str) -> None:
    valid = checkout_ok(
        session, query.invoice_payload, query.total_amount, query.currency, query.from_user.id
    )
    if valid:
        await query.answer(ok=True)
    else:
        await query.answer(ok=False, error_message=text(lang, "checkout_invalid"))


async def paid(message: Message) -> None:
    """Recorded by the payments domain from the same update; its outbox says thank you."""


async def orders(message: Message, session: Session, user: User, lang: str) -> None:
    lines = user_orders(session, user)
    if not lines:
        await message.answer(text(lang, "orders_empty"))
        return
    out = []
    for line in lines:
        out.append(
            text(
                lang,
                "order_line",
                order=line.order.public_id,
                title=_title(line.product, lang),
                amount=format_amount(line.order.amount_minor, line.order.currency),
                status=text(lang, f"status_{line.order.status}"),
            )
        )
        out += [text(lang, "receipt_line", url=url) for url in line.receipt_urls]
    await message.answer("\n".join(out))


def create_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="shop")
    router.message.register(catalog, Command("catalog"))
    router.callback_query.register(choose_method, F.data.startswith("buy:"))
    router.callback_query.register(pay, F.data.startswith("pay:"))
    router.pre_checkout_query.register(pre_checkout)
    router.message.register(paid, F.successful_payment)
    router.message.register(orders, Command("orders"))
    return router
