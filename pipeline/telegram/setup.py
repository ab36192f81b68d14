"""What the bot tells Telegram about itself: webhook, commands and descriptions in every
language, and the menu button that opens the Mini App (`pipeline telegram setup`)."""

from __future__ import annotations

from typing import Any, Protocol

from pipeline.miniapp.config import miniapp_url
from pipeline.settings import Settings

# The receiver's route for Telegram updates.
WEBHOOK_PATH = "/webhooks/telegram"
ALLOWED_UPDATES = ["message", "callback_query", "pre_checkout_query", "my_chat_member"]

COMMANDS: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("start", "Start and open the shop"),
        ("catalog", "Products"),
        ("orders", "Your orders and receipts"),
        ("feedback", "Write to us"),
        ("language", "Change the language"),
        ("help", "Help"),
    ],
    "ru": [
        ("start", "Начать и открыть магазин"),
        ("catalog", "Товары"),
        ("orders", "Ваши заказы и чеки"),
        ("feedback", "Написать нам"),
        ("language", "Сменить язык"),
        ("help", "Помощь"),
    ],
}
DESCRIPTIONS = {
    "en": (
        "Choose products and pay for them right in Telegram: with a card, Telegram Stars or "
        "a payment link. Receipts and order status come here.",
        "Shop: products, payment, receipts.",
    ),
    "ru": (
        "Выбирайте товары и оплачивайте их прямо в Telegram: картой, Telegram Stars или по "
        "ссылке. Чеки и статус заказа приходят сюда.",
        "Магазин: товары, оплата, чеки.",
    ),
}
MENU_TEXT = {"en": "Shop", "ru": "Магазин"}


class Caller(Protocol):
    def call(self, method: str, **params: Any) -> Any: ...


def webhook_url(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/") + WEBHOOK_PATH


def menu_button(settings: Settings) -> dict[str, Any]:
    """The web_app menu button, or Telegram's plain command list where the Mini App has no
    HTTPS address (Telegram opens no other)."""
    url = miniapp_url(settings)
    if not url.startswith("https://"):
        return {"type": "commands"}
    text = MENU_TEXT.get(settings.default_language, MENU_TEXT["en"])
    return {"type": "web_app", "text": text, "web_app": {"url": url}}


def set_up(bot: Caller, settings: Settings) -> list[str]:
    """Every call, in order; what was done, one line each."""
    done = []
    secret = settings.telegram_webhook_secret
    bot.call(
        "setWebhook",
        url=webhook_url(settings),
        secret_token=secret.get_secret_value().split(",")[0].strip() if secret else None,
        allowed_updates=ALLOWED_UPDATES,
    )
    done.append(f"webhook: {webhook_url(settings)}")
    for lang, commands in COMMANDS.items():
        listed = [{"command": c, "description": d} for c, d in commands]
        description, short = DESCRIPTIONS[lang]
        default = lang == settings.default_language
        for code in [lang, None] if default else [lang]:
            bot.call("setMyCommands", commands=listed, language_code=code)
            bot.call("setMyDescription", description=description, language_code=code)
            bot.call("setMyShortDescription", short_description=short, language_code=code)
        done.append(f"commands and descriptions: {lang}" + (" (default)" if default else ""))
    button = menu_button(settings)
    bot.call("setChatMenuButton", menu_button=button)
    done.append(
        f"menu button: Mini App {button['web_app']['url']}"
        if button["type"] == "web_app"
        else "menu button: commands (the Mini App needs an https:// MINIAPP_URL)"
    )
    return done


def info(bot: Caller) -> dict[str, Any]:
    return {
        "me": bot.call("getMe"),
        "webhook": bot.call("getWebhookInfo"),
        "menu_button": bot.call("getChatMenuButton"),
    }
