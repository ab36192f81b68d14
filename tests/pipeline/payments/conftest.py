"""Fixtures for the payments domain: a user, a product, an order; recorded task sends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.settings import get_settings
from pipeline.unit_of_work import unit_of_work
from schema import Order, Product, User


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, tuple[Any, ...]]] = []

    def send(self, name: str, queue_name: str, *args: Any, countdown: float | None = None) -> str:
        self.sent.append((name, queue_name, args))
        return "id"

    def send_many(self, name: str, queue_name: str, arg_lists: Sequence[Sequence[Any]]) -> None:
        for args in arg_lists:
            self.send(name, queue_name, *args)

    def names(self) -> list[str]:
        return [name for name, _, _ in self.sent]


def sending_to(monkeypatch: pytest.MonkeyPatch, sender: RecordingSender) -> None:
    """Contexts made in the test (their `Deps.build()`) send through `sender`, as a
    process's runtime hands its sender down."""
    monkeypatch.setattr(
        Deps,
        "build",
        classmethod(lambda cls, redis=None: cls(get_settings(), sender=sender, redis=redis)),
    )


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> RecordingSender:
    sender = RecordingSender()
    sending_to(monkeypatch, sender)
    return sender


def make_order(
    session: Session, public_id: str = "ord-1", method: str = "yookassa", currency: str = "RUB"
) -> Order:
    user = User(telegram_id=1001, chat_id=1001, language="ru")
    product = Product(code="p1", title_ru="Курс", title_en="Course", price_minor=10000)
    session.add_all([user, product])
    session.flush()
    amount = 50 if currency == "XTR" else 10000
    order = Order(
        public_id=public_id,
        user_id=user.id,
        product_id=product.id,
        amount_minor=amount,
        currency=currency,
        payment_method=method,
    )
    session.add(order)
    session.flush()
    return order


@pytest.fixture
def order(db: sessionmaker[Session]) -> Order:
    with db() as session:
        made = make_order(session)
        session.commit()
    return made


def run(db: sessionmaker[Session], fn: Any, *args: Any) -> Any:
    """Run a domain call in its own transaction, then its after-commit jobs."""
    with unit_of_work(db, Deps.build()) as uow:
        return fn(uow, *args)


def stripe_orders(db: sessionmaker[Session], names: Sequence[str]) -> list[str]:
    """Open Stripe orders of one buyer, named `names`, committed."""
    with db() as session:
        user = User(telegram_id=2001, chat_id=2001, language="en")
        product = Product(code="p-batch", title_ru="Курс", title_en="Course", price_minor=10000)
        session.add_all([user, product])
        session.flush()
        session.add_all(
            Order(
                public_id=name,
                user_id=user.id,
                product_id=product.id,
                amount_minor=10000,
                currency="RUB",
                payment_method="stripe",
            )
            for name in names
        )
        session.commit()
    return list(names)
