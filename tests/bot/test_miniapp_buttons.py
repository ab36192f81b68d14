"""The bot's way into the Mini App: a `web_app` button under /start and /catalog when it
has an HTTPS address, and `web_app_data` messages handled like any other update."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pipeline.i18n import text
from schema import Product
from scripts.fakes.bot_api import FakeBotApiThread
from tests.bot.test_bot_flow import bot_env, fake, feed, message, settings_changed

__all__ = ["bot_env", "fake"]  # fixtures used below

CHAT = 801


def web_app_data(update_id: int, data: str) -> dict[str, Any]:
    payload = message(update_id, CHAT, "x", "en")
    del payload["message"]["text"], payload["message"]["entities"]
    payload["message"]["web_app_data"] = {"data": data, "button_text": "Shop"}
    return payload


def _buttons(sent: dict[str, Any]) -> list[dict[str, Any]]:
    markup = sent.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def test_start_and_catalog_offer_the_mini_app(
    bot_env: sessionmaker[Session], fake: FakeBotApiThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINIAPP_URL", "https://shop.example/app/")
    settings_changed(bot_env)
    with bot_env() as session:
        session.add(Product(code="p", title_ru="К", title_en="C", price_minor=100))
        session.commit()
    feed(bot_env, message(1, CHAT, "/start", "en"), message(2, CHAT, "/catalog", "en"))
    greeting, _, catalogue = fake.sent()
    for sent in (greeting, catalogue):
        (opener,) = [b for b in _buttons(sent) if "web_app" in b]
        assert opener == {"text": "Open the shop", "web_app": {"url": "https://shop.example/app/"}}
    assert any(b.get("callback_data") == "buy:1" for b in _buttons(catalogue))


def test_no_button_without_an_https_address(
    bot_env: sessionmaker[Session], fake: FakeBotApiThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://localhost:8000")
    settings_changed(bot_env)
    feed(bot_env, message(1, CHAT, "/start", "en"))
    assert _buttons(fake.sent()[0]) == []


def test_web_app_data_is_handled_like_other_updates(
    bot_env: sessionmaker[Session], fake: FakeBotApiThread
) -> None:
    feed(
        bot_env,
        web_app_data(1, json.dumps({"action": "orders"})),
        web_app_data(2, "not json"),
    )
    assert [s["text"] for s in fake.sent()] == [
        text("en", "orders_empty"),
        text("en", "miniapp_data_unknown"),
    ]
