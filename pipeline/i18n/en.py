"""English texts."""

COMMANDS = "/catalog — products, /orders — your orders, /feedback — write to us, /help — help."

MESSAGES: dict[str, str] = {
    # Without SHOP_NAME the greeting names no shop; with it, "start_shop".
    "start": "Hello, {name}! Here you can choose our products and pay for them.\n" + COMMANDS,
    "start_shop": "Hello, {name}! Welcome to {shop}: choose our products and pay for them "
    "here.\n" + COMMANDS,
    "change_language": "Your language is English. Change it?",
    "language_set": "Language: English.",
    "help": "/catalog — choose a product and pay\n/orders — your orders and receipts\n"
    "/language — change the language\n/feedback — write to the operators",
    "catalog_empty": "The catalogue is empty for now.",
    "catalog_title": "Choose a product:",
    "product": "{title} — {price}\n{description}",
    "choose_payment": "{title}: how would you like to pay?",
    "pay_card": "Card (Telegram)",
    "pay_stars": "{stars} ⭐ Telegram Stars",
    "pay_link": "Pay by link (YooKassa)",
    "pay_link_ready": "Order {order}: pay here {url}",
    "payment_unavailable": "This way of paying is not available right now.",
    "checkout_invalid": "This order can no longer be paid. Please start again from /catalog.",
    "orders_empty": "You have no orders yet.",
    "order_line": "Order {order}: {title}, {amount} — {status}",
    "receipt_line": "  receipt: {url}",
    "status_created": "created",
    "status_pending": "awaiting payment",
    "status_paid": "paid",
    "status_canceled": "canceled",
    "status_failed": "payment failed",
    "status_refunded": "refunded",
    "status_partially_refunded": "partially refunded",
    "payment_received": "Payment for order {order} received: {amount}. Thank you!",
    "payment_failed": "Payment for order {order} did not go through. You can try again.",
    "receipt_ready": "Your receipt for order {order}: {url}",
    "refund_receipt_ready": "Refund receipt for order {order}: {url}",
    "refund_done": "Refund of {amount} for order {order} is done.",
    "feedback_prompt": "Write your message; I will pass it to the operators.",
    "feedback_sent": "Sent. The operators will answer here.",
    "feedback_from": "Message from {who} (id {user_id}):\n{text}",
    "operator_reply": "Reply from the operators:\n{text}",
    "feedback_unavailable": "Feedback is not available right now.",
    "feedback_user_blocked": "The user has blocked the bot; the reply was not delivered.",
    "throttled": "You are sending messages too fast; please wait a moment.",
    "feedback_throttled": "You have sent a lot of feedback recently; please try again later.",
    "unknown": "I did not understand. /help lists what I can do.",
}
