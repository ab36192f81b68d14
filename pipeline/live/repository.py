"""The live channel's SQL: event changes stamped with their cursor and read back, the
announcer's advisory lock, the orders and receipt links announced after commit, and a
broadcast's progress counters.

Functions take the session (the announcer's: its autocommit connection) and never commit.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ARRAY, Connection, Row, String, case, func, select, text, update
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from schema.messaging import Broadcast
from schema.orders import Order, Payment, Receipt

# pg advisory lock key of the announcer ("live" in ASCII).
ANNOUNCE_LOCK = 0x6C697665

CHANGE_COLUMNS = (
    "id, source, type, external_id, status, attempts, received_at, processed_at, "
    "last_error, updated_seq"
)
_STAMP = text(
    f"""
    WITH pending AS (
        SELECT id FROM events WHERE updated_seq IS NULL
        ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
    )
    UPDATE events AS e SET updated_seq = nextval('events_updated_seq')
    FROM pending WHERE e.id = pending.id
    RETURNING {", ".join("e." + c.strip() for c in CHANGE_COLUMNS.split(","))}
    """
)
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:k)")
_UNLOCK = text("SELECT pg_advisory_unlock(:k)")
# Rows a locked transaction holds are its own to announce once it commits.
_PENDING = text("SELECT 1 FROM events WHERE updated_seq IS NULL LIMIT 1 FOR UPDATE SKIP LOCKED")


def try_lock_announcer(conn: Connection) -> bool:
    """Take the announcer's lock if nobody holds it (nobody waits for it)."""
    return bool(conn.execute(_TRY_LOCK, {"k": ANNOUNCE_LOCK}).scalar())


def unlock_announcer(conn: Connection) -> None:
    conn.execute(_UNLOCK, {"k": ANNOUNCE_LOCK})


def stamp_changes(conn: Connection, limit: int) -> Sequence[Row[Any]]:
    """Give up to `limit` unannounced changes, oldest event first, their cursor from the
    `events_updated_seq` sequence; the rows in `CHANGE_COLUMNS`."""
    return conn.execute(_STAMP, {"limit": limit}).all()


def any_unannounced(conn: Connection) -> bool:
    """Whether a committed change is left without a cursor."""
    return conn.execute(_PENDING).first() is not None


def changes_after(
    session: Session,
    cursor: int,
    sources: Sequence[str],
    statuses: Sequence[str],
    limit: int,
) -> Sequence[Row[Any]]:
    """Changes with a cursor above `cursor` (of these sources and statuses, if given),
    oldest first; the rows in `CHANGE_COLUMNS`."""
    where = ["updated_seq > :cursor"]
    params: dict[str, Any] = {"cursor": cursor, "limit": limit}
    if sources:
        where.append("source = ANY(:sources)")
        params["sources"] = list(sources)
    if statuses:
        where.append("status = ANY(:statuses)")
        params["statuses"] = list(statuses)
    stmt = text(
        f"SELECT {CHANGE_COLUMNS} FROM events WHERE {' AND '.join(where)} "
        "ORDER BY updated_seq LIMIT :limit"
    )
    return session.execute(stmt, params).all()


def latest_cursor(session: Session) -> int:
    value: int | None = session.execute(text("SELECT max(updated_seq) FROM events")).scalar()
    return int(value or 0)


def receipt_urls(session: Session, order_ids: list[int]) -> dict[int, list[str]]:
    """Each order's receipt links, oldest receipt first (orders without any are left out)."""
    rows = session.execute(
        select(Payment.order_id, Receipt.ofd_receipt_url)
        .join(Payment, Payment.id == Receipt.payment_id)
        .where(Payment.order_id.in_(order_ids), Receipt.ofd_receipt_url.is_not(None))
        .order_by(Receipt.id)
    ).all()
    found: dict[int, list[str]] = {}
    for order_id, url in rows:
        if order_id is not None and url:
            found.setdefault(order_id, []).append(url)
    return found


def order_ids_of_payments(session: Session, payment_ids: Collection[int]) -> list[int]:
    """The orders these payments belong to (payments without an order left out)."""
    stmt = select(Payment.order_id).where(Payment.id.in_(payment_ids))
    return [i for i in session.scalars(stmt) if i is not None]


def _order_urls() -> ColumnElement[list[str]]:
    """The order's receipt links, oldest receipt first (a correlated ARRAY(SELECT ...))."""
    links = (
        select(Receipt.ofd_receipt_url)
        .join(Payment, Payment.id == Receipt.payment_id)
        .where(Payment.order_id == Order.id, Receipt.ofd_receipt_url.is_not(None))
        .order_by(Receipt.id)
        .scalar_subquery()
    )
    return func.array(links, type_=ARRAY(String))


def orders_with_receipt_urls(
    session: Session, order_ids: Collection[int], columns: Sequence[InstrumentedAttribute[Any]]
) -> list[tuple[Sequence[Any], list[str]]]:
    """`columns` of each order and its receipt links, in id order, in one statement: as
    columns, since building ORM objects for them cost more than the statement (and a
    payments batch has detached its orders)."""
    stmt = select(*columns, _order_urls()).where(Order.id.in_(sorted(order_ids)))
    rows = session.execute(stmt.order_by(Order.id))
    return [(row[:-1], list(row[-1] or [])) for row in rows]


def add_to_broadcast_counts(
    session: Session, broadcast_id: int, sent: int, failed: int
) -> Row[int, str, int, int, int] | None:
    """Add settled rows to the broadcast's counters under its row lock, and mark it done
    once every row is settled; its id, status, total, sent and failed after the change."""
    finished = (Broadcast.sent + sent + Broadcast.failed + failed) >= Broadcast.total
    running = (Broadcast.status == "running") & finished
    stmt = (
        update(Broadcast)
        .where(Broadcast.id == broadcast_id)
        .values(
            sent=Broadcast.sent + sent,
            failed=Broadcast.failed + failed,
            status=case((running, "done"), else_=Broadcast.status),
            finished_at=case((running, func.now()), else_=Broadcast.finished_at),
        )
        .returning(
            Broadcast.id, Broadcast.status, Broadcast.total, Broadcast.sent, Broadcast.failed
        )
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).one_or_none()
