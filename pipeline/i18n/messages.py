"""Messages referred to by key: outbox rows store the key (`notifications.template`), the
gRPC and HTTP notification APIs accept one (`text_key`), and order statuses map to one.

The value is the English msgid of the gettext catalogues; `N_` only marks it for
`pybabel extract` (scripts/i18n.py). Texts used in one place only are written where
they are used, with `gettext`/`ngettext`.
"""

from __future__ import annotations


def N_(msgid: str) -> str:
    return msgid


COMMANDS = N_("/catalog — products, /orders — your orders, /feedback — write to us, /help — help.")

MESSAGES: dict[str, str] = {
    # Without SHOP_NAME the greeting names no shop; with it, "start_shop".
    "start": N_("Hello, {name}! Here you can choose our products and pay for them."),
    "start_shop": N_(
        "Hello, {name}! Welcome to {shop}: choose our products and pay for them here."
    ),
    "change_language": N_("Your language is English. Change it?"),
    "language_set": N_("Language: English."),
    "help": N_(
        "/catalog — choose a product and pay\n/orders — your orders and receipts\n"
        "/language — change the language\n/feedback — write to the operators"
    ),
    "miniapp_open": N_("Open the shop"),
    "miniapp_data_unknown": N_("This button's data is not understood. Please open /catalog."),
    "catalog_empty": N_("The catalogue is empty for now."),
    "catalog_title": N_("Choose a product:"),
    "product": N_("{title} — {price}\n{description}"),
    "choose_payment": N_("{title}: how would you like to pay?"),
    "pay_card": N_("Card (Telegram)"),
    "pay_stars": N_("{stars} ⭐ Telegram Stars"),
    "pay_link": N_("Pay by link (YooKassa)"),
    "pay_link_ready": N_("Order {order}: pay here {url}"),
    "payment_unavailable": N_("This way of paying is not available right now."),
    "checkout_invalid": N_("This order can no longer be paid. Please start again from /catalog."),
    "button_invalid": N_("This button is no longer valid. Please open /catalog again."),
    "product_unavailable": N_(
        "This product is no longer on sale. Please choose again from /catalog."
    ),
    "orders_empty": N_("You have no orders yet."),
    "order_line": N_("Order {order} of {date}: {title}, {items}, {amount} — {status}"),
    "receipt_line": N_("  receipt: {url}"),
    "status_created": N_("created"),
    "status_pending": N_("awaiting payment"),
    "status_paid": N_("paid"),
    "status_canceled": N_("canceled"),
    "status_failed": N_("payment failed"),
    "status_refunded": N_("refunded"),
    "status_partially_refunded": N_("partially refunded"),
    "payment_received": N_("Payment for order {order} received: {amount}. Thank you!"),
    "payment_failed": N_("Payment for order {order} did not go through. You can try again."),
    "receipt_ready": N_("Your receipt for order {order}: {url}"),
    "refund_receipt_ready": N_("Refund receipt for order {order}: {url}"),
    "refund_done": N_("Refund of {amount} for order {order} is done."),
    "feedback_prompt": N_("Write your message; I will pass it to the operators."),
    "feedback_sent": N_("Sent. The operators will answer here."),
    "feedback_from": N_("Message from {who} (id {user_id}):\n{text}"),
    "operator_reply": N_("Reply from the operators:\n{text}"),
    "feedback_unavailable": N_("Feedback is not available right now."),
    "feedback_user_blocked": N_("The user has blocked the bot; the reply was not delivered."),
    "throttled": N_("You are sending messages too fast; please wait a moment."),
    "feedback_throttled": N_("You have sent a lot of feedback recently; please try again later."),
    "assistant_handoff": N_("I have passed your question to the operators; they will answer here."),
    "assistant_no_answer": N_("I could not find an answer. /help lists what I can do."),
    "triage_line": N_("Triage: {labels}"),
    "triage_draft": N_("Suggested reply: {draft}"),
    "handoff_reason": N_("Assistant handed off: {reason}"),
    "handoff_answer": N_("Assistant's answer (not sent): {answer}"),
    "assistant_small_talk": N_("You are welcome! /help lists what I can do."),
    "unknown": N_("I did not understand. /help lists what I can do."),
}


def NP_(singular: str, plural: str) -> tuple[str, str]:
    return singular, plural


# Plural messages: (singular, plural) msgids; the count is given as {count}.
PLURALS: dict[str, tuple[str, str]] = {
    "items": NP_("{count} item", "{count} items"),
}
