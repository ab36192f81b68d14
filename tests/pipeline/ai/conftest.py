"""Shared fixtures of the AI tests: a clean database and this session's own Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from pipeline.settings import Settings, get_settings
from schema import KnowledgeEntry, Order, Product, User

AI_URL = "http://ai.test/v1"


@pytest.fixture
def rclient(private_redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    monkeypatch.setenv("REDIS_URL", private_redis_url)
    get_settings.cache_clear()
    client = redis.Redis.from_url(private_redis_url)
    client.flushdb()
    yield client
    client.close()


def ai_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "ai_base_url": AI_URL,
        "ai_api_key": "sk-test",
        "ai_model": "test-model",
        "ai_retry_base_s": 0,
        "ai_timeout_s": 2,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


FAQ = [
    ("Сколько идёт доставка?", "Доставка по России занимает 3–5 рабочих дней.", "ru"),
    ("Как оплатить заказ?", "Оплатить можно картой или звёздами Telegram.", "ru"),
    ("How long does delivery take?", "Delivery takes 3 to 5 business days.", "en"),
    ("How can I pay for an order?", "You can pay by card or with Telegram Stars.", "en"),
]


def seed(session: Session) -> tuple[User, User]:
    """Two buyers with one order each, a product and the FAQ."""
    for question, answer, lang in FAQ:
        session.add(KnowledgeEntry(question=question, answer=answer, language=lang, tags=[]))
    product = Product(
        code="mug",
        title_ru="Кружка",
        title_en="Mug",
        description_ru="Керамическая кружка 300 мл",
        description_en="Ceramic mug 300 ml",
        price_minor=59000,
    )
    ann = User(telegram_id=801, chat_id=801, first_name="Ann", language="en")
    bob = User(telegram_id=802, chat_id=802, first_name="Bob", language="en")
    session.add_all([product, ann, bob])
    session.flush()
    for user, public_id, status in (
        (ann, "o-aaaaaaaaaaaa", "paid"),
        (bob, "o-bbbbbbbbbbbb", "pending"),
    ):
        session.add(
            Order(
                public_id=public_id,
                user_id=user.id,
                product_id=product.id,
                amount_minor=59000,
                currency="RUB",
                payment_method="stars",
                status=status,
            )
        )
    session.flush()
    return ann, bob


@pytest.fixture
def shop(db: sessionmaker[Session]) -> sessionmaker[Session]:
    with db() as session:
        seed(session)
        session.commit()
    return db
