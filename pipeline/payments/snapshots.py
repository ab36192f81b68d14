"""Order snapshots in Redis: what the database-free receiver may know about an order.

CloudPayments asks, before it charges, whether an `InvoiceId` may be paid (the Check
notification) and reads the answer from the response body. The receiver touches no
database, so the orders CloudPayments may pay are copied to Redis whenever a session
commits a change to one (a SQLAlchemy session hook: every code path that creates an order
or moves its status through the ORM publishes it, after the commit, never for a rolled
back change). The receiver reads one key per Check. See docs/architecture.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import redis
from loguru import logger
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from pipeline.payments.order_rules import allows
from pipeline.redis_client import redis_url, session_redis
from pipeline.settings import Settings
from schema.orders import Order

KEY = "order-snapshot:"
# Long enough for any order to be paid or refunded; a missing snapshot declines a Check.
TTL_S = 90 * 24 * 3600
CHANGED = "orders_changed"
PENDING = "order_snapshots"
# Only orders these providers may pay need a snapshot (the ones that ask before paying).
ASKING_PROVIDERS = ("cloudpayments",)


@dataclass(frozen=True)
class OrderSnapshot:
    amount_minor: int
    currency: str
    status: str
    payment_method: str
    created_at: float  # epoch seconds

    @property
    def created(self) -> datetime:
        return datetime.fromtimestamp(self.created_at, UTC)


def snapshot_of(order: Order, *, loaded_only: bool = True) -> OrderSnapshot | None:
    """The order's snapshot; with `loaded_only`, from its loaded state alone (no SQL)."""
    state: dict[str, Any] = inspect(order).dict
    try:
        values = (
            state
            if loaded_only
            else {
                name: getattr(order, name)
                for name in ("amount_minor", "currency", "status", "payment_method", "created_at")
            }
        )
        created = values.get("created_at") or datetime.now(UTC)  # new: just created
        return OrderSnapshot(
            amount_minor=int(values["amount_minor"]),
            currency=str(values["currency"]),
            status=str(values.get("status") or "created"),
            payment_method=str(values["payment_method"]),
            created_at=created.timestamp(),
        )
    except KeyError:
        return None  # an attribute not loaded


def key(public_id: str) -> str:
    # QUEUE_PREFIX separates pipelines (and test runs) sharing one Redis, as for queues.
    return f"{os.environ.get('QUEUE_PREFIX', '')}{KEY}{public_id}"


def publish(client: redis.Redis, snapshots: dict[str, OrderSnapshot]) -> None:
    pipe = client.pipeline(transaction=False)
    for public_id, snap in snapshots.items():
        pipe.set(key(public_id), orjson.dumps(asdict(snap)), ex=TTL_S)
    pipe.execute()


def read(client: redis.Redis, public_id: str) -> OrderSnapshot | None:
    raw = client.get(key(public_id))
    if raw is None:
        return None
    try:
        return OrderSnapshot(**orjson.loads(raw))
    except (orjson.JSONDecodeError, TypeError):
        return None  # not written by this version: as good as missing


def _asks(order: Order) -> bool:
    method = inspect(order).dict.get("payment_method")
    return isinstance(method, str) and any(allows(method, p) for p in ASKING_PROVIDERS)


def orders_changed(session: Session, orders: Iterable[Order]) -> None:
    """Publish these orders' snapshots once the transaction commits: for changes written
    without the ORM (the payments batch, on detached orders), which the flush hook below
    cannot see. Their loaded state is what was written."""
    frozen = {}
    for order in orders:
        if _asks(order):
            snap = snapshot_of(order)
            if snap is not None:
                frozen[order.public_id] = snap
    if frozen:
        session.info.setdefault(PENDING, {}).update(frozen)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    changed = session.info.setdefault(CHANGED, set())
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Order) and _asks(obj):
            changed.add(obj)


@event.listens_for(Session, "before_commit")
def _freeze(session: Session) -> None:
    """Snapshots of what is about to commit: read now, after any savepoint that changed an
    order was rolled back (its values reload), so no rolled-back status gets out."""
    session.flush()  # the commit's own flush comes after this hook: do it now (a no-op if clean)
    changed = session.info.pop(CHANGED, None)
    if not changed:
        return
    frozen = {}
    for order in changed:
        if order in session and not inspect(order).deleted:
            snap = snapshot_of(order, loaded_only=False)
            if snap is not None:
                frozen[order.public_id] = snap
    session.info.setdefault(PENDING, {}).update(frozen)


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    snapshots = session.info.pop(PENDING, None)
    if not snapshots:
        return
    try:
        publish(session_redis(session), snapshots)
    except (RuntimeError, redis.RedisError) as exc:
        # CloudPayments' Check declines an order it cannot see; the payment is refused
        # rather than accepted blind.
        logger.warning("order snapshots not published ({}): {}", len(snapshots), exc)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(CHANGED, None)


class SnapshotReader:
    """The receiver's read: short timeouts, since it answers a provider waiting on it.
    The receiver's CloudPayments provider holds one (built once with its registry); it
    connects at its first read (in the process that serves)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: redis.Redis | None = None

    def __call__(self, public_id: str) -> OrderSnapshot | None:
        if self._client is None:
            self._client = redis.Redis.from_url(
                redis_url(self._settings), socket_timeout=0.5, socket_connect_timeout=0.5
            )
        return read(self._client, public_id)
