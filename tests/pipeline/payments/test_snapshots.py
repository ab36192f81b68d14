"""Orders CloudPayments may pay are copied to Redis after each commit that changes them,
so the database-free receiver can answer a Check from the order."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pipeline.payments import snapshots
from pipeline.settings import get_settings
from schema import Order
from tests.pipeline.payments.conftest import make_order
from tests.support.redis_clients import env_redis
from tests.support.services import TestServices


@pytest.fixture(autouse=True)
def _redis(services: TestServices, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", services.redis_url)
    monkeypatch.setenv("QUEUE_PREFIX", f"s{uuid.uuid4().hex[:8]}-")
    get_settings.cache_clear()


def seen(public_id: str = "ord-1") -> snapshots.OrderSnapshot | None:
    return snapshots.read(env_redis(), public_id)


def test_a_new_order_is_published_after_its_commit(db: sessionmaker[Session]) -> None:
    with db() as session:
        make_order(session, method="cloudpayments")
        assert seen() is None  # flushed, not committed
        session.commit()
    snap = seen()
    assert snap is not None
    assert (snap.amount_minor, snap.currency, snap.status, snap.payment_method) == (
        10000,
        "RUB",
        "created",
        "cloudpayments",
    )
    assert snapshots.SnapshotReader()("ord-1") == snap  # the receiver's read


def test_a_status_change_is_published_and_a_rollback_is_not(db: sessionmaker[Session]) -> None:
    with db() as session:
        order = make_order(session, method="any")
        session.commit()
        order_id = order.id
        order.status = "paid"
        session.flush()
        session.rollback()
    assert seen() is not None and seen().status == "created"  # type: ignore[union-attr]
    with db() as session:
        loaded = session.get(Order, order_id)
        assert loaded is not None
        loaded.status = "paid"
        session.commit()
    assert seen().status == "paid"  # type: ignore[union-attr]


def test_orders_cloudpayments_cannot_pay_are_not_published(db: sessionmaker[Session]) -> None:
    with db() as session:
        make_order(session, method="yookassa")
        session.commit()
    assert seen() is None


def test_a_rolled_back_savepoint_publishes_nothing_of_its_own(db: sessionmaker[Session]) -> None:
    """A handler that failed in its savepoint (the worker's isolated pass) leaves no trace."""
    with db() as session:
        order = make_order(session, method="cloudpayments")
        session.commit()
        savepoint = session.begin_nested()
        order.status = "paid"
        session.flush()
        savepoint.rollback()
        order.amount_minor = 12000
        session.commit()
    snap = seen()
    assert snap is not None and (snap.status, snap.amount_minor) == ("created", 12000)
