"""Event text search reads a write-once copy of each payload's text (event_search_texts):
written by the database when an event is inserted, whatever path inserts it, replaced
only when the payload is, and found by the operators' search and the order page."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, sessionmaker

from pipeline.envelope import Envelope
from pipeline.events import filter_repository, repository
from pipeline.events.storing import event_row
from schema.events import Event, EventSearchText


def envelope(external_id: str) -> Envelope:
    return Envelope("stripe", external_id, "payment_intent.succeeded", b"{}", datetime.now(UTC))


def _bodies(session: Session) -> dict[int, str]:
    return dict(session.execute(select(EventSearchText.event_id, EventSearchText.body)).all())


def _search(session: Session, needle: str) -> list[str]:
    rows, _ = filter_repository.page(
        session, filter_repository.EventFilter(text=needle), before_id=None, limit=50
    )
    return [r.external_id for r in rows]


def test_every_insert_path_writes_the_text_once(db: sessionmaker[Session]) -> None:
    with db() as session:
        # The batch upsert (the worker's path) and a plain ORM insert (a test, a script).
        rows = [
            event_row(envelope(f"evt_{n}"), {"order": f"o-{n}", "note": 'quote " here'}, 0)
            for n in range(3)
        ]
        repository.store(session, rows)
        session.add(
            Event(source="stripe", type="t", external_id="orm", payload={"order": "o-orm"},
                  received_at=datetime.now(UTC))
        )  # fmt: skip
        session.add(
            Event(source="stripe", type="t", external_id="empty", payload=None,
                  received_at=datetime.now(UTC))
        )  # fmt: skip
        session.commit()
        bodies = _bodies(session)
        ids = dict(session.execute(select(Event.external_id, Event.id)).all())
        assert set(bodies) == {ids["evt_0"], ids["evt_1"], ids["evt_2"], ids["orm"]}
        assert bodies[ids["orm"]] == '{"order": "o-orm"}'  # the payload's text, as jsonb prints it
        # A repeat (the upsert's DO UPDATE) and an outcome leave the text alone.
        repository.store(session, rows[:1])
        session.execute(update(Event).values(status="processed"))
        session.commit()
        assert _bodies(session) == bodies


def test_a_replaced_payload_replaces_the_text(db: sessionmaker[Session]) -> None:
    with db() as session:
        repository.store(session, [event_row(envelope("evt_r"), {"order": "o-old"}, 0)])
        session.commit()
        event_id = session.scalar(select(Event.id))
        assert event_id is not None
        repository.set_payload(session, event_id, {"order": "o-new"})
        session.commit()
        assert _search(session, "o-new") == ["evt_r"]
        assert _search(session, "o-old") == []
        session.execute(update(Event).values(payload=None))
        session.commit()
        assert _bodies(session) == {}


def test_search_finds_text_case_insensitively_and_literally(db: sessionmaker[Session]) -> None:
    with db() as session:
        repository.store(
            session,
            [
                event_row(envelope("evt_a"), {"order": "O-4242", "email": "a@x.example"}, 0),
                event_row(envelope("evt_b"), {"order": "o-4243", "pct": "50%_off"}, 0),
            ],
        )
        session.commit()
        assert _search(session, "o-4242") == ["evt_a"]
        assert sorted(_search(session, "o-424")) == ["evt_a", "evt_b"]
        assert _search(session, "50%_") == ["evt_b"]  # LIKE wildcards are literal
        assert _search(session, "%") == ["evt_b"]
        assert _search(session, "nothing-like-it") == []


def test_the_search_reads_the_trigram_index(db: sessionmaker[Session]) -> None:
    with db() as session:
        session.execute(text("SET LOCAL enable_seqscan = off"))
        stmt = select(Event.id).where(filter_repository.payload_contains("o-4242"))
        dialect, literal = postgresql.dialect(), {"literal_binds": True}
        plan = "\n".join(
            row[0]
            for row in session.execute(
                text("EXPLAIN " + str(stmt.compile(dialect=dialect, compile_kwargs=literal)))
            )
        )
        assert "ix_event_search_texts_body_trgm" in plan, plan
