"""The Mini App's own texts (tabs, buttons, notices), in the gettext catalogues under the
msgctxt "miniapp": the same English words may read differently in the bot's chat.

The page asks for `/app/i18n/<lang>.json` (api/miniapp/static.py): every key below with
its text in that language. Placeholders are `{n}`, filled in by the page.
"""

from __future__ import annotations

from pipeline.i18n import FALLBACK
from pipeline.i18n.catalogues import translations

CONTEXT = "miniapp"


def NC_(context: str, msgid: str) -> str:
    """Marks a msgid with its context for extraction (`NC_:1c,2` in [tool.babel])."""
    return msgid


# The page's key: its English msgid. Order statuses and payment methods are looked up by
# `status_<status>` and `method_<method>`.
TEXTS: dict[str, str] = {
    "shop": NC_("miniapp", "Shop"),
    "catalog": NC_("miniapp", "Catalogue"),
    "cart": NC_("miniapp", "Cart"),
    "orders": NC_("miniapp", "Orders"),
    "feedback": NC_("miniapp", "Feedback"),
    "add": NC_("miniapp", "Add to cart"),
    "added": NC_("miniapp", "In cart: {n}"),
    "empty_catalog": NC_("miniapp", "The catalogue is empty for now."),
    "empty_cart": NC_("miniapp", "Your cart is empty."),
    "empty_orders": NC_("miniapp", "No orders yet."),
    "checkout": NC_("miniapp", "Check out"),
    "pay": NC_("miniapp", "Pay"),
    "pay_with": NC_("miniapp", "Pay with"),
    "method_stars": NC_("miniapp", "Telegram Stars"),
    "method_card": NC_("miniapp", "Card (Telegram)"),
    "method_link": NC_("miniapp", "YooKassa page"),
    "total": NC_("miniapp", "Total"),
    "order": NC_("miniapp", "Order"),
    "quantity": NC_("miniapp", "Quantity"),
    "status_created": NC_("miniapp", "created"),
    "status_pending": NC_("miniapp", "awaiting payment"),
    "status_paid": NC_("miniapp", "paid"),
    "status_receipt_issued": NC_("miniapp", "receipt issued"),
    "status_refunded": NC_("miniapp", "refunded"),
    "status_partially_refunded": NC_("miniapp", "partially refunded"),
    "status_canceled": NC_("miniapp", "canceled"),
    "status_failed": NC_("miniapp", "payment failed"),
    "receipt": NC_("miniapp", "Receipt"),
    "send": NC_("miniapp", "Send"),
    "feedback_hint": NC_("miniapp", "Write to the shop: a question, a problem, a wish."),
    "feedback_sent": NC_("miniapp", "Thank you! We will answer in the chat with the bot."),
    "ask_title": NC_("miniapp", "Ask a question"),
    "ask": NC_("miniapp", "Ask"),
    "ask_hint": NC_("miniapp", "Delivery, payment, your order…"),
    "ask_wait": NC_("miniapp", "Looking for the answer…"),
    "paid_now": NC_("miniapp", "Paid. Thank you!"),
    "cancelled": NC_("miniapp", "Payment cancelled."),
    "failed": NC_("miniapp", "Something went wrong."),
    "offline": NC_("miniapp", "Open this page from the bot in Telegram."),
    "live": NC_("miniapp", "live"),
    "reconnecting": NC_("miniapp", "reconnecting…"),
    "stars": NC_("miniapp", "{n} ★"),
}


def page_texts(lang: str) -> dict[str, str]:
    """Every key's text in `lang` (an unknown language reads the fallback's)."""
    catalogue = translations().get(lang) or translations()[FALLBACK]
    return {key: catalogue.pgettext(CONTEXT, msgid) for key, msgid in TEXTS.items()}
