"""A batch's payment events applied set-wise, through the event service's ingest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select, update
from sqlalchemy import text as sa_text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.envelope import Envelope
from pipeline.events.handlers import load_handler_modules
from pipeline.events.service import EventService, RetryPolicy
from pipeline.live import orders as live_orders
from pipeline.messaging.queues import TASK_REGISTER_RECEIPT
from pipeline.payments import repository, snapshots
from pipeline.payments.batch import Rows, UnwrittenChange
from pipeline.providers.registry import build_registry
from pipeline.settings import get_settings
from schema import Notification, Order, Payment, Receipt
from schema.events import Event
from tests.pipeline.payments.conftest import RecordingSender, stripe_orders


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FISCAL_REGISTER", "atol")
    monkeypatch.setenv("ALLOW_TEST_PAYMENTS", "true")  # the payloads are Stripe test mode
    get_settings.cache_clear()


@pytest.fixture
def service(db: sessionmaker[Session], sent: RecordingSender) -> EventService:
    """Its Deps is built with `sent` in place, so the handlers' tasks are recorded."""
    return EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        load_handler_modules(grpc_sources=get_settings().grpc_sources),
        RetryPolicy(3, 0.01, 0.05),
        deps=Deps.build(),
    )


@pytest.fixture
def orders(db: sessionmaker[Session]) -> list[str]:
    return stripe_orders(db, ["ord-a", "ord-b", "ord-c"])


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def payment(
    event_id: str, order: str, intent: str, status: str = "succeeded", received: int = 10000
) -> Envelope:
    kind = "payment_intent.succeeded" if status == "succeeded" else "payment_intent.processing"
    body = {
        "id": event_id,
        "object": "event",
        "type": kind,
        "livemode": False,
        "data": {
            "object": {
                "id": intent,
                "object": "payment_intent",
                "amount": 10000,
                "amount_received": received,
                "currency": "rub",
                "status": status,
                "metadata": {"order_id": order},
            }
        },
    }
    return Envelope(
        "stripe", event_id, kind, json.dumps(body).encode(), datetime.now(UTC), {}, "req-b"
    )


def state(db: sessionmaker[Session]) -> dict[str, object]:
    with db() as session:
        return {
            "orders": {k: v for k, v in session.execute(select(Order.public_id, Order.status))},
            "payments": {
                p.provider_payment_id: (p.status, p.order_id is not None, p.mismatch is not None)
                for p in session.scalars(select(Payment))
            },
            "receipts": sorted(session.scalars(select(Receipt.kind))),
            # key=str: ready-text notifications (alerts) have no template (None)
            "notifications": sorted(session.scalars(select(Notification.template)), key=str),
            "events": {k: v for k, v in session.execute(select(Event.external_id, Event.status))},
        }


def test_each_payment_settles_its_own_order_with_one_statement_per_step(
    service: EventService,
    db: sessionmaker[Session],
    orders: list[str],
    sent: RecordingSender,
    statements: list[str],
) -> None:
    batch = [payment(f"evt_{o}", o, f"pi_{o}") for o in orders]
    _, result = service.ingest(batch)
    assert len(result.processed) == 3
    found = state(db)
    assert found["orders"] == {o: "paid" for o in orders}
    assert found["payments"] == {f"pi_{o}": ("succeeded", True, False) for o in orders}
    assert found["receipts"] == ["sell"] * 3
    assert found["notifications"] == ["payment_received"] * 3
    assert sent.names().count(TASK_REGISTER_RECEIPT) == 3
    for table in ("payments", "receipts", "notifications"):
        inserts = [s for s in statements if s.startswith(f"INSERT INTO {table} ")]
        assert len(inserts) == 1, table
    order_reads = [s for s in statements if "FROM orders" in s and "FOR UPDATE" in s]
    assert len(order_reads) == 1


def test_a_failing_event_leaves_its_neighbours_settled(
    service: EventService, db: sessionmaker[Session], orders: list[str]
) -> None:
    # A payment id longer than its column: the set-wise insert fails, the batch is redone
    # one event at a time and only that event is refused.
    batch = [
        payment("evt_ok_a", "ord-a", "pi_ok_a"),
        payment("evt_bad", "ord-b", "pi_" + "x" * 200),
        payment("evt_ok_c", "ord-c", "pi_ok_c"),
    ]
    _, result = service.ingest(batch)
    assert len(result.processed) == 2 and len(result.dead) == 1
    found = state(db)
    assert found["events"] == {"evt_ok_a": "processed", "evt_bad": "dead", "evt_ok_c": "processed"}
    assert found["orders"] == {"ord-a": "paid", "ord-b": "created", "ord-c": "paid"}
    assert found["receipts"] == ["sell", "sell"]


def test_two_payments_for_one_order_in_a_batch_settle_it_once(
    service: EventService, db: sessionmaker[Session], orders: list[str]
) -> None:
    batch = [payment("evt_first", "ord-a", "pi_first"), payment("evt_second", "ord-a", "pi_2nd")]
    _, result = service.ingest(batch)
    assert len(result.processed) == 2
    found = state(db)
    assert found["orders"]["ord-a"] == "paid"  # type: ignore[index]
    # The second payment finds the order already paid: recorded as a mismatch, unlinked.
    assert found["payments"] == {
        "pi_first": ("succeeded", True, False),
        "pi_2nd": ("succeeded", False, True),
    }
    assert found["receipts"] == ["sell"]
    assert found["notifications"].count("payment_received") == 1  # type: ignore[attr-defined]


def test_two_events_of_one_payment_in_a_batch_apply_in_order(
    service: EventService, db: sessionmaker[Session], orders: list[str]
) -> None:
    batch = [
        payment("evt_proc", "ord-b", "pi_b", status="processing", received=0),
        payment("evt_done", "ord-b", "pi_b"),
    ]
    _, result = service.ingest(batch)
    assert len(result.processed) == 2
    found = state(db)
    assert found["orders"]["ord-b"] == "paid"  # type: ignore[index]
    assert found["payments"] == {"pi_b": ("succeeded", True, False)}
    assert found["receipts"] == ["sell"]
    assert found["notifications"] == ["payment_received"]


def test_the_same_batch_one_event_at_a_time_ends_the_same(
    service: EventService, db: sessionmaker[Session], orders: list[str]
) -> None:
    batch = [
        payment("evt_1", "ord-a", "pi_1"),
        payment("evt_2", "ord-a", "pi_2"),
        payment("evt_3", "ord-b", "pi_3", status="processing", received=0),
        payment("evt_4", "ord-b", "pi_3"),
    ]
    as_created = full_rows(db)["orders"]
    stored = service.store(batch)
    for event_id in stored.to_process:
        service.process([event_id])  # a lone event is applied on its own
    one_by_one = state(db), full_rows(db)
    with db() as session:
        for table in ("events", "notifications", "receipts", "payments"):
            session.execute(sa_text(f"DELETE FROM {table}"))
        for public_id, columns in as_created.items():  # every column back, not only status
            session.execute(update(Order).where(Order.public_id == public_id).values(columns))
        session.commit()
    assert full_rows(db)["orders"] == as_created
    service.ingest(batch)
    assert (state(db), full_rows(db)) == one_by_one


def full_rows(db: sessionmaker[Session]) -> dict[str, dict[str, dict[str, object]]]:
    """Every column of the orders and payments, but ids and times (which differ by run)."""
    skip = {"id", "created_at", "updated_at", "order_id"}

    def columns(row: Order | Payment) -> dict[str, object]:
        return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}

    with db() as session:
        public = {i: p for i, p in session.execute(select(Order.id, Order.public_id))}
        return {
            "orders": {o.public_id: columns(o) for o in session.scalars(select(Order))},
            "payments": {
                p.provider_payment_id: {**columns(p), "order": public.get(p.order_id or 0)}
                for p in session.scalars(select(Payment))
            },
        }


def test_a_change_the_set_wise_write_would_drop_fails_the_batch() -> None:
    """A decision that changes a column the batch's UPDATE does not carry must not be lost
    silently: the batch fails, and the event service redoes it one event at a time."""
    order = Order(id=1, public_id="ord-x", status="created", payment_url=None)
    payment = Payment(id=2, status="pending", details={"a": 1})
    rows = Rows([order], [payment])
    order.status = "paid"
    payment.details["b"] = 2  # in place: still a change
    assert rows.changed(rows.orders, repository.ORDER_CHANGES) == [order]
    assert rows.changed(rows.payments, repository.PAYMENT_CHANGES) == [payment]
    order.payment_url = "https://pay.example/x"
    with pytest.raises(UnwrittenChange, match=r"orders\.payment_url"):
        rows.changed(rows.orders, repository.ORDER_CHANGES)


def test_a_batch_writes_its_orders_and_payments_with_one_update_each_and_announces_them(
    service: EventService,
    db: sessionmaker[Session],
    orders: list[str],
    statements: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The rows are written without the ORM's flush, so its hooks see nothing: the live
    orders channel and the CloudPayments snapshots are told by the batch itself."""
    announced: list[dict[str, object]] = []
    published: dict[str, snapshots.OrderSnapshot] = {}
    monkeypatch.setattr(
        live_orders, "announce_committed", lambda _s, _topic, items: announced.extend(items)
    )
    monkeypatch.setattr(snapshots, "session_redis", lambda _s: None)
    monkeypatch.setattr(snapshots, "publish", lambda _client, snaps: published.update(snaps))
    with db() as session:  # an order CloudPayments could pay as well: it has a snapshot
        session.execute(
            sa_text("UPDATE orders SET payment_method = 'any' WHERE public_id = 'ord-a'")
        )
        session.commit()
    before = _updated_at(db)
    statements.clear()
    batch = [
        payment("evt_a1", "ord-a", "pi_a", status="processing", received=0),
        payment("evt_a2", "ord-a", "pi_a"),
        payment("evt_b", "ord-b", "pi_b"),
    ]
    _, result = service.ingest(batch)
    assert len(result.processed) == 3
    assert state(db)["orders"] == {"ord-a": "paid", "ord-b": "paid", "ord-c": "created"}
    for table in ("orders", "payments"):  # set-wise, not an UPDATE per row (executemany)
        updates = [s for s in statements if s.startswith(f"UPDATE {table} ")]
        assert len(updates) == 1 and "FROM unnest(" in updates[0], table
    after = _updated_at(db)
    assert after["ord-a"] > before["ord-a"] and after["ord-b"] > before["ord-b"]
    assert after["ord-c"] == before["ord-c"]  # unchanged rows are not written
    assert sorted((i["public_id"], i["status"]) for i in announced) == [
        ("ord-a", "paid"),
        ("ord-b", "paid"),
    ]
    assert {k: s.status for k, s in published.items()} == {"ord-a": "paid"}


def test_a_failed_batch_announces_nothing_of_its_set_wise_pass(
    service: EventService,
    db: sessionmaker[Session],
    orders: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The batch's own writes are rolled back with it; the orders settled one at a time
    afterwards are announced once each."""
    announced: list[dict[str, object]] = []
    monkeypatch.setattr(
        live_orders, "announce_committed", lambda _s, _topic, items: announced.extend(items)
    )
    batch = [
        payment("evt_ok_a", "ord-a", "pi_ok_a"),
        payment("evt_bad", "ord-b", "pi_" + "x" * 200),
    ]
    _, result = service.ingest(batch)
    assert len(result.processed) == 1 and len(result.dead) == 1
    assert [(i["public_id"], i["status"]) for i in announced] == [("ord-a", "paid")]


def _updated_at(db: sessionmaker[Session]) -> dict[str, datetime]:
    with db() as session:
        return {k: v for k, v in session.execute(select(Order.public_id, Order.updated_at))}
