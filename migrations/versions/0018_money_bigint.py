"""money columns (amounts, totals, prices, refunds) are BIGINT: 32 bits end at 21 million roubles

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Widening keeps the previous release working (it writes and reads the same integers).
# Each table is rewritten once, under its ACCESS EXCLUSIVE lock, so all of a table's
# columns change in one statement; the lock timeout makes a deploy that cannot get the
# lock fail (and be retried) instead of queueing every writer behind it.
MONEY: dict[str, tuple[str, ...]] = {
    "products": ("price_minor", "stars_price"),
    "orders": ("amount_minor",),
    "payments": ("amount_minor", "paid_minor", "refunded_minor", "overpaid_minor"),
    "receipts": ("total_minor",),
}
LOCK_TIMEOUT = "SET LOCAL lock_timeout = '10s'"


def _retype(kind: str) -> None:
    op.execute(LOCK_TIMEOUT)
    for table, columns in MONEY.items():
        changes = ", ".join(f"ALTER COLUMN {column} TYPE {kind}" for column in columns)
        op.execute(f"ALTER TABLE {table} {changes}")


def upgrade() -> None:
    _retype("bigint")


def downgrade() -> None:
    _retype("integer")  # fails on amounts above 2^31 - 1: those need the wide columns
