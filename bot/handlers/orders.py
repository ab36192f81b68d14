"""/orders: the buyer's last orders, each with a button for its details (receipts, and
the payment link while it is unpaid)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import OrderDetails
from bot.handlers.shop import title_of
from bot.i18n import t, tn
from bot.middlewares import from_customer
from pipeline.i18n.formats import day, money
from pipeline.settings import Settings
from pipeline.shop.service import OrderLine
from pipeline.shop.storefront import Storefront
from schema.users import User

UNPAID = {"created", "pending"}


def describe(line: OrderLine, lang: str, settings: Settings) -> str:
    order = line.order
    return t(
        "order_line",
        order=order.public_id,
        date=day(order.created_at, lang) if order.created_at else "",
        title=title_of(line.product, lang, settings),
        items=tn("items", order.quantity),
        amount=money(order.amount_minor, order.currency, lang),
        status=t(f"status_{order.status}"),
    )


async def orders(
    message: Message, shop: Storefront, user: User, lang: str, settings: Settings
) -> None:
    lines = shop.orders_of(user)
    if not lines:
        await message.answer(t("orders_empty"))
        return
    out = []
    for line in lines:
        out.append(describe(line, lang, settings))
        out += [t("receipt_line", url=url) for url in line.receipt_urls]
    buttons = [
        [
            InlineKeyboardButton(
                text=_("Order {order}").format(order=line.order.public_id),
                callback_data=OrderDetails(public_id=line.order.public_id).pack(),
            )
        ]
        for line in lines
    ]
    await message.answer("\n".join(out), reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons))


async def details(
    query: CallbackQuery,
    callback_data: OrderDetails,
    shop: Storefront,
    user: User,
    lang: str,
    settings: Settings,
) -> None:
    """Only the user's own order: another's id (a forged button) is as good as none."""
    line = shop.own_order(user, callback_data.public_id)
    if line is None:
        await query.answer(t("button_invalid"))
        return
    await query.answer()
    if query.message is None:
        return
    receipts = [t("receipt_line", url=u) for u in line.receipt_urls]
    text = "\n".join([describe(line, lang, settings), *receipts])
    markup = None
    if line.order.status in UNPAID and line.order.payment_url:
        button = InlineKeyboardButton(text=t("pay_link"), url=line.order.payment_url)
        markup = InlineKeyboardMarkup(inline_keyboard=[[button]])
    await query.message.answer(text, reply_markup=markup)


def create_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="orders")
    router.message.filter(from_customer)
    router.callback_query.filter(from_customer)
    router.message.register(orders, Command("orders"))
    router.callback_query.register(details, OrderDetails.filter())
    return router
