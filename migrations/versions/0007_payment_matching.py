"""payment matching: why a payment did not settle its order, overpayments; no `processing`

Revision ID: 0007
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("received", "processed", "ignored", "failed", "dead")


def _status_check(statuses: Sequence[str]) -> None:
    listed = ", ".join(f"'{s}'" for s in statuses)
    op.drop_constraint(op.f("ck_events_status_known"), "events", type_="check")
    op.create_check_constraint(op.f("ck_events_status_known"), "events", f"status IN ({listed})")


def upgrade() -> None:
    # `processing` was never committed; a row holding it would be one a worker left.
    op.execute("UPDATE events SET status = 'received' WHERE status = 'processing'")
    _status_check(STATUSES)
    op.add_column("payments", sa.Column("mismatch", sa.Text(), nullable=True))
    op.add_column(
        "payments",
        sa.Column("overpaid_minor", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("payments", "overpaid_minor")
    op.drop_column("payments", "mismatch")
    _status_check(("received", "processing", *STATUSES[1:]))
