"""For every payment provider, a genuine signed webhook settles only the order it names,
and only when amount and currency agree: another order is never touched, and an order
whose amount or currency differs stays unpaid (the payment is recorded as a mismatch).
End to end: receiver, broker, ingest, the provider's normalisation, the payments domain."""

from __future__ import annotations

from typing import Any

import pytest
import respx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.domain.normalized import PaymentEvent
from pipeline.events.service import EventService
from pipeline.settings import get_settings
from schema import Order, Payment, Product, User
from tests.pipeline.providers.apis import happy_paths, use_test_apis
from tests.pipeline.providers.conftest import Send, drain
from tests.pipeline.providers.test_worker_flow import EXPECTED

# Robokassa names the order by InvId only, which the fixture's expectation leaves out.
REFERENCE = {"robokassa": "450009"}
PAYMENT_PROVIDERS = sorted(name for name, (_, kind, _) in EXPECTED.items() if kind is PaymentEvent)
OTHER_CURRENCY = {"XTR": "RUB"}
WHY = {"amount": "is less than the order's", "currency": "currency"}


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # Fixtures include test-mode payments; that rule has its own tests (payments/).
    monkeypatch.setenv("ALLOW_TEST_PAYMENTS", "true")
    get_settings.cache_clear()


def _orders(db: sessionmaker[Session], named: str, amount: int, currency: str) -> None:
    """The order the webhook names, and another one it must never touch."""
    with db() as session:
        user = User(telegram_id=1001, chat_id=1001, language="ru")
        product = Product(code="p1", title_ru="Курс", title_en="Course", price_minor=amount)
        session.add_all([user, product])
        session.flush()
        for public_id in (named, f"other-{named}"):
            order = Order(public_id=public_id, user_id=user.id, product_id=product.id,
                          amount_minor=amount, currency=currency, payment_method="any")  # fmt: skip
            session.add(order)
        session.commit()


def _deliver(name: str, receiver: Send, broker: str, service: EventService) -> None:
    build = EXPECTED[name][0]
    assert receiver(build()).status_code == 200
    use_test_apis(service.deps)
    with respx.mock(assert_all_called=False) as router:
        happy_paths(router)
        stored = service.store(drain(broker))
        service.process(stored.to_process)


def _seen(db: sessionmaker[Session]) -> tuple[dict[str, str], list[tuple[int | None, str | None]]]:
    with db() as session:
        orders = {o.public_id: o.status for o in session.scalars(select(Order))}
        payments = [(p.order_id, p.mismatch) for p in session.scalars(select(Payment))]
    return orders, payments


@pytest.mark.parametrize("variant", ["match", "amount", "currency"])
@pytest.mark.parametrize("name", PAYMENT_PROVIDERS)
def test_a_webhook_settles_only_its_own_order(
    name: str,
    variant: str,
    receiver: Send,
    broker: str,
    service: EventService,
    db: sessionmaker[Session],
) -> None:
    fields: dict[str, Any] = EXPECTED[name][2]
    reference = REFERENCE.get(name) or fields["order_reference"]
    amount, currency = fields["amount"], fields["currency"]
    if variant == "amount":
        amount += 1
    elif variant == "currency":
        currency = OTHER_CURRENCY.get(currency, "EUR" if currency != "EUR" else "USD")
    _orders(db, reference, amount, currency)
    _deliver(name, receiver, broker, service)
    orders, payments = _seen(db)
    assert orders[f"other-{reference}"] == "created"  # never another order
    [(linked, mismatch)] = payments
    if variant == "match":
        assert orders[reference] == "paid" and mismatch is None
    else:
        assert orders[reference] == "created", mismatch
        assert linked is None and mismatch is not None and WHY[variant] in mismatch
