"""Orders CloudPayments may pay are copied to Redis after each commit that changes them,
so the database-free receiver can answer a Check from the order."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.payments import snapshots
from pipeline.settings import get_settings
from pipeline.unit_of_work import unit_of_work
from schema import Order
from tests.pipeline.payments.conftest import make_order
from tests.support.redis_clients import env_redis
from tests.support.services import TestServices


@pytest.fixture(autouse=True)
def _redis(services: TestServices, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", services.redis_url)
    monkeypatch.setenv("QUEUE_PREFIX", f"s{uuid.uuid4().hex[:8]}-")
    get_settings.cache_clear()


@pytest.fixture
def deps(_redis: None) -> Deps:
    """The process's Deps a unit of work leaves to the commit hooks (they publish on its
    Redis client; a session committed outside one publishes nothing)."""
    return Deps.build()


class Undo(Exception):
    """Raised in a unit of work to roll it back."""


def seen(public_id: str = "ord-1") -> snapshots.OrderSnapshot | None:
    return snapshots.read(env_redis(), public_id)


def test_a_new_order_is_published_after_its_commit(db: sessionmaker[Session], deps: Deps) -> None:
    with unit_of_work(db, deps) as uow:
        make_order(uow.session, method="cloudpayments")
        assert seen() is None  # flushed, not committed
    snap = seen()
    assert snap is not None
    assert (snap.amount_minor, snap.currency, snap.status, snap.payment_method) == (
        10000,
        "RUB",
        "created",
        "cloudpayments",
    )
    assert snapshots.SnapshotReader(get_settings())("ord-1") == snap  # the receiver's read


def test_a_status_change_is_published_and_a_rollback_is_not(
    db: sessionmaker[Session], deps: Deps
) -> None:
    with unit_of_work(db, deps) as uow:
        order_id = make_order(uow.session, method="any").id
    with pytest.raises(Undo), unit_of_work(db, deps) as uow:
        loaded = uow.session.get(Order, order_id)
        assert loaded is not None
        loaded.status = "paid"
        uow.session.flush()
        raise Undo
    assert seen() is not None and seen().status == "created"  # type: ignore[union-attr]
    with unit_of_work(db, deps) as uow:
        loaded = uow.session.get(Order, order_id)
        assert loaded is not None
        loaded.status = "paid"
    assert seen().status == "paid"  # type: ignore[union-attr]


def test_orders_cloudpayments_cannot_pay_are_not_published(
    db: sessionmaker[Session], deps: Deps
) -> None:
    with unit_of_work(db, deps) as uow:
        make_order(uow.session, method="yookassa")
    assert seen() is None


def test_a_rolled_back_savepoint_publishes_nothing_of_its_own(
    db: sessionmaker[Session], deps: Deps
) -> None:
    """A handler that failed in its savepoint (the worker's isolated pass) leaves no trace."""
    with unit_of_work(db, deps) as uow:
        order_id = make_order(uow.session, method="cloudpayments").id
    with unit_of_work(db, deps) as uow:
        order = uow.session.get(Order, order_id)
        assert order is not None
        savepoint = uow.session.begin_nested()
        order.status = "paid"
        uow.session.flush()
        savepoint.rollback()
        order.amount_minor = 12000
    snap = seen()
    assert snap is not None and (snap.status, snap.amount_minor) == ("created", 12000)


def test_a_session_committed_outside_a_unit_of_work_publishes_nothing(
    db: sessionmaker[Session],
) -> None:
    """No process client to publish on: the hook logs it and the commit stands, with no
    client built from the environment."""
    with db() as session:
        make_order(session, method="cloudpayments")
        session.commit()
    assert seen() is None
    with db() as session:
        assert session.query(Order).count() == 1
