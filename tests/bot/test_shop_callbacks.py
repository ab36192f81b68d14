"""Catalogue buttons: a product is re-checked when its button is pressed, and button data
the bot never made gets a polite answer instead of a handler exception."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.i18n import text
from schema import Order, Product
from scripts.fakes.bot_api import FakeBotApiThread
from tests.bot.test_bot_flow import bot_env, fake, feed, message

__all__ = ["bot_env", "fake"]  # fixtures used below

CHAT = 701


def callback(update_id: int, data: str) -> dict[str, Any]:
    user = {"id": CHAT, "is_bot": False, "first_name": "Ann", "language_code": "en"}
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": user,
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": CHAT, "type": "private"},
                "from": {"id": 123, "is_bot": True, "first_name": "Shop"},
                "text": "catalogue",
            },
        },
    }


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    import bot.updates

    seen: list[BaseException] = []
    monkeypatch.setattr(bot.updates, "capture", lambda exc, **_: seen.append(exc))
    return seen


def _product(db: sessionmaker[Session], active: bool) -> int:
    with db() as session:
        product = Product(
            code="p", title_ru="К", title_en="C", price_minor=100, stars_price=5, is_active=active
        )
        session.add(product)
        session.commit()
        return product.id


def _answers(fake: FakeBotApiThread) -> list[str | None]:
    return [a.get("text") for a in fake.sent("answerCallbackQuery")]


def test_an_inactive_product_is_not_sold(
    bot_env: sessionmaker[Session], fake: FakeBotApiThread, captured: list[BaseException]
) -> None:
    feed(bot_env, message(1, CHAT, "/start", "en"))
    product = _product(bot_env, active=False)
    feed(bot_env, callback(2, f"buy:{product}"), callback(3, f"pay:stars:{product}"))
    gone = text("en", "product_unavailable")
    assert _answers(fake) == [gone, gone]
    assert fake.sent("sendInvoice") == []
    with bot_env() as session:
        assert session.execute(select(Order)).first() is None
    assert captured == []


@pytest.mark.parametrize(
    "data",
    ["buy:", "buy:abc", "buy:1:2", "buy:99999999999999999999999", "pay:stars", "pay:x:y:z",
     "pay:bogus:1", "pay:stars:-1", "pay:stars:١"],
)  # fmt: skip
def test_malformed_button_data_gets_a_polite_answer(
    bot_env: sessionmaker[Session],
    fake: FakeBotApiThread,
    captured: list[BaseException],
    data: str,
) -> None:
    feed(bot_env, message(1, CHAT, "/start", "en"))
    _product(bot_env, active=True)
    feed(bot_env, callback(2, data))
    assert _answers(fake) == [text("en", "button_invalid")]
    assert captured == []


def test_an_active_product_still_offers_its_payment_methods(
    bot_env: sessionmaker[Session], fake: FakeBotApiThread, captured: list[BaseException]
) -> None:
    feed(bot_env, message(1, CHAT, "/start", "en"))
    product = _product(bot_env, active=True)
    feed(bot_env, callback(2, f"buy:{product}"))
    assert _answers(fake) == [None]
    keyboards = [c.get("reply_markup") for c in fake.sent() if c.get("reply_markup")]
    assert any(f"pay:stars:{product}" in str(k) for k in keyboards)
    assert captured == []
