"""Callback data is whatever the user's client sends: data the bot never made is refused
with a polite answer, an id is re-checked against the database, and another buyer's
order is as good as missing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.callbacks import BuyProduct, OrderDetails, PayProduct
from pipeline.i18n import text
from pipeline.shop.service import create_order
from schema import Order, Product, User
from tests.bot.harness import BotHarness, callback, message

pytestmark = pytest.mark.asyncio
ANN, BOB = 701, 702


def _product(db: sessionmaker[Session], active: bool = True) -> int:
    with db() as session:
        product = Product(
            code="mug", title_ru="Кружка", title_en="Mug", price_minor=149000, stars_price=5,
            is_active=active,
        )  # fmt: skip
        session.add(product)
        session.commit()
        return product.id


def _orders(db: sessionmaker[Session]) -> int:
    with db() as session:
        return int(session.scalar(select(func.count()).select_from(Order)) or 0)


FORGED = [
    "sell:1",  # a prefix the bot never uses
    "buy:",
    "buy:abc",
    "buy:0",
    "buy:-1",
    "buy:1.0",
    "buy: 1",
    "buy:+1",
    "buy:1_0",
    "buy:١",  # an Arabic-Indic digit: int() would take it
    "buy:9223372036854775808",  # past BIGINT
    "buy:1:2",
    "pay:stars",
    "pay:bogus:1",
    "pay:stars:1:1",
    "order:1",
    "order:o-ZZZZZZZZZZZZ",
    "order:o-0123456789ab:x",
    "lang:",
    "lang:english-please",
    "lang:de",  # well formed, but there is no German catalogue
    "x" * 64,
]


@pytest.mark.parametrize("data", FORGED)
async def test_forged_data_is_refused_politely(harness: BotHarness, data: str) -> None:
    await harness.feed(message(1, ANN, "/start"))
    _product(harness.db)
    await harness.feed(callback(2, ANN, data))
    assert harness.api.answers() == [text("en", "button_invalid")]
    assert harness.api.sent("sendInvoice") == []
    assert _orders(harness.db) == 0
    with harness.db() as session:  # nothing changed about the user either
        assert session.scalar(select(User.language).where(User.telegram_id == ANN)) == "en"


async def test_an_id_in_range_is_checked_against_the_catalogue(harness: BotHarness) -> None:
    await harness.feed(message(1, ANN, "/start"))
    withdrawn = _product(harness.db, active=False)
    for n, data in enumerate(
        [
            BuyProduct(product_id=withdrawn).pack(),
            PayProduct(method="stars", product_id=withdrawn).pack(),
            BuyProduct(product_id=2**63 - 1).pack(),  # valid form, no such product
        ]
    ):
        await harness.feed(callback(10 + n, ANN, data))
    assert harness.api.answers() == [text("en", "product_unavailable")] * 3
    assert _orders(harness.db) == 0


async def test_another_buyers_order_is_as_good_as_missing(harness: BotHarness) -> None:
    await harness.feed(message(1, ANN, "/start"), message(2, BOB, "/start"))
    product_id = _product(harness.db)
    with harness.db() as session:
        ann = session.scalars(select(User).where(User.telegram_id == ANN)).one()
        product = session.get(Product, product_id)
        assert product is not None
        public_id = create_order(session, ann, product, "stars").public_id
        session.commit()
    data = OrderDetails(public_id=public_id).pack()
    await harness.feed(callback(3, BOB, data))
    assert harness.api.answers() == [text("en", "button_invalid")]
    assert not any(public_id in t for t in harness.api.texts())
    await harness.feed(callback(4, ANN, data))  # the owner sees it
    assert harness.api.answers()[-1] is None
    assert public_id in harness.api.texts(ANN)[-1]


async def test_the_buttons_the_bot_makes_are_accepted(harness: BotHarness) -> None:
    await harness.feed(message(1, ANN, "/start"))
    product_id = _product(harness.db)
    await harness.feed(message(2, ANN, "/catalog"))
    catalogue = harness.api.sent()[-1]["reply_markup"]["inline_keyboard"]
    buy = catalogue[0][0]["callback_data"]
    assert buy == f"buy:{product_id}"
    await harness.feed(callback(3, ANN, buy))
    methods = harness.api.sent()[-1]["reply_markup"]["inline_keyboard"]
    stars = [row[0]["callback_data"] for row in methods if "Stars" in row[0]["text"]]
    assert stars == [f"pay:stars:{product_id}"]
    await harness.feed(callback(4, ANN, stars[0]))
    invoice = harness.api.sent("sendInvoice")
    assert len(invoice) == 1 and invoice[0]["currency"] == "XTR" and invoice[0]["title"] == "Mug"
    assert _orders(harness.db) == 1


async def test_buttons_and_commands_outside_a_private_chat_are_refused(
    harness: BotHarness,
) -> None:
    """A group or another bot's message is no customer's chat: no user, no order."""
    product_id = _product(harness.db)
    in_group = callback(1, ANN, f"pay:stars:{product_id}")
    in_group["callback_query"]["message"]["chat"] = {"id": -100500, "type": "group", "title": "g"}
    inline = callback(2, ANN, f"buy:{product_id}")
    del inline["callback_query"]["message"]
    inline["callback_query"]["inline_message_id"] = "im1"
    group_command = message(3, ANN, "/start")
    group_command["message"]["chat"] = {"id": -100500, "type": "group", "title": "g"}
    group_feedback = message(4, ANN, "/feedback")
    group_feedback["message"]["chat"] = {"id": -100500, "type": "group", "title": "g"}
    await harness.feed(in_group, inline, group_command, group_feedback)
    assert harness.api.answers() == [text("en", "button_invalid"), None]
    assert harness.api.sent("sendInvoice") == [] and harness.api.texts() == []
    assert _orders(harness.db) == 0
