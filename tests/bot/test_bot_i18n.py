"""The bot speaks the user's language: stored choice first, then Telegram's language,
then DEFAULT_LANGUAGE; money, dates, plurals and product texts follow the locale."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from schema import Order, Product, User
from tests.bot.harness import BotHarness, callback, message

pytestmark = pytest.mark.asyncio
NBSP, NNBSP = "\u00a0", "\u202f"
RU = f"Заказ o-000000000385 от 5 мар. 2026{NNBSP}г.: Чай"
EN = "Order o-000000000385 of Mar 5, 2026: Tea"


def _order(db: sessionmaker[Session], telegram_id: int, quantity: int) -> str:
    with db() as session:
        user = session.scalars(select(User).where(User.telegram_id == telegram_id)).one()
        product = Product(
            code=f"tea{telegram_id}", title_ru="Чай", title_en="Tea", price_minor=74500,
            translations={"de": {"title": "Tee", "description": ""}},
        )  # fmt: skip
        session.add(product)
        session.flush()
        order = Order(
            public_id=f"o-{telegram_id:012x}", user_id=user.id, product_id=product.id,
            quantity=quantity, amount_minor=74500 * quantity, currency="RUB",
            payment_method="yookassa", status="paid",
            created_at=datetime(2026, 3, 5, 12, tzinfo=UTC),
        )  # fmt: skip
        session.add(order)
        session.commit()
        return order.public_id


@pytest.mark.parametrize(
    ("lang", "quantity", "expected"),
    [
        ("ru", 1, f"{RU}, 1 товар, 745,00{NBSP}₽ — оплачен"),
        ("ru", 2, f"{RU}, 2 товара, 1{NBSP}490,00{NBSP}₽ — оплачен"),
        ("ru", 5, f"{RU}, 5 товаров, 3{NBSP}725,00{NBSP}₽ — оплачен"),
        ("en", 1, f"{EN}, 1 item, RUB{NBSP}745.00 — paid"),
        ("en", 2, f"{EN}, 2 items, RUB{NBSP}1,490.00 — paid"),
    ],
)  # fmt: skip
async def test_orders_in_the_users_language(
    harness: BotHarness, lang: str, quantity: int, expected: str
) -> None:
    await harness.feed(message(1, 901, "/start", lang))
    public_id = _order(harness.db, 901, quantity)
    await harness.feed(message(2, 901, "/orders", lang))
    reply = harness.api.sent()[-1]
    assert reply["text"] == expected
    button = reply["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == ("Заказ " if lang == "ru" else "Order ") + public_id


async def test_the_stored_language_wins_over_telegrams(harness: BotHarness) -> None:
    await harness.feed(message(1, 902, "/start", "en"))
    await harness.feed(callback(2, 902, "lang:ru", "en"))
    assert harness.api.texts(902)[-1] == "Язык: русский."  # confirmed in the new language
    with harness.db() as session:
        assert session.scalar(select(User.language).where(User.telegram_id == 902)) == "ru"
    await harness.feed(message(3, 902, "/orders", "en"))  # Telegram still says "en"
    assert harness.api.texts(902)[-1] == "У вас пока нет заказов."


async def test_a_language_without_a_catalogue_falls_back_to_the_default(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_LANGUAGE", "ru")
    harness.settings_changed()
    await harness.feed(message(1, 903, "/help", "de"), message(2, 904, "/help", None))
    texts = harness.api.texts()
    assert texts[0] == texts[1] and texts[0].startswith("/catalog — выбрать товар")


async def test_the_language_buttons_name_each_language_in_itself(harness: BotHarness) -> None:
    await harness.feed(message(1, 905, "/language", "ru"))
    buttons = harness.api.sent()[-1]["reply_markup"]["inline_keyboard"][0]
    assert [(b["text"], b["callback_data"]) for b in buttons] == [
        ("English", "lang:en"),
        ("Русский", "lang:ru"),
    ]


async def test_catalogue_titles_and_prices_by_locale(harness: BotHarness) -> None:
    with harness.db() as session:
        session.add(Product(code="c", title_ru="Кофе", title_en="", price_minor=149000))
        session.commit()
    await harness.feed(message(1, 906, "/catalog", "ru"), message(2, 907, "/catalog", "en"))
    ru, en = (m["reply_markup"]["inline_keyboard"][0][0]["text"] for m in harness.api.sent())
    assert ru == f"Кофе — 1{NBSP}490,00{NBSP}₽"
    # No English title: the shop's default language, English, then any language it has.
    assert en == f"Кофе — RUB{NBSP}1,490.00"
