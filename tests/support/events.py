"""Events added straight to the database, for the operations tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from schema.events import Event


def add_events(
    db: sessionmaker[Session],
    count: int,
    *,
    status: str = "processed",
    source: str = "stripe",
    age: timedelta = timedelta(0),
    prefix: str = "evt",
) -> list[int]:
    now = datetime.now(UTC) - age
    with db() as session:
        events = [
            Event(
                source=source,
                type="payment_intent.succeeded",
                external_id=f"{prefix}_{i}",
                status=status,
                attempts=3 if status == "dead" else 1,
                payload={"id": f"{prefix}_{i}"},
                raw_body=b'{"id": 1}',
                headers={},
                received_at=now,
                stored_at=now,
                processed_at=now if status in ("processed", "ignored") else None,
                last_error="boom" if status in ("dead", "failed") else None,
            )
            for i in range(count)
        ]
        session.add_all(events)
        session.commit()
        return [e.id for e in events]
