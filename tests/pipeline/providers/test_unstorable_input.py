"""What the receiver accepts is storable, and a bad value is dead at once.

Receiver and worker are real (the receiver in-process, its messages taken off the
Redis queue and ingested into PostgreSQL): a `\\u0000` body, an over-long or unsafe
request id, an over-long event id and a malformed amount or currency each land in the
database without costing their neighbours anything.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.events.service import EventService
from pipeline.storable import EXTERNAL_ID_MAX
from schema.events import Event
from tests.pipeline.providers.cases import CASES, CloudPaymentsCase, Request, StripeCase, fixture
from tests.pipeline.providers.conftest import Send, drain
from tests.support.signing import stripe_event


def stripe(event_id: str, **extra: Any) -> Request:
    return StripeCase().signed(stripe_event(event_id, **extra))


def rows(db: sessionmaker[Session]) -> dict[str, Event]:
    with db() as session:
        return {e.external_id: e for e in session.scalars(select(Event))}


def test_nul_text_bad_request_ids_and_long_ids_are_stored_beside_good_ones(
    receiver: Send, broker: str, service: EventService, db: sessionmaker[Session]
) -> None:
    good = [stripe(f"evt_good_{n}") for n in range(6)]
    nul = stripe("evt_nul", description="a\u0000b")
    assert b"\\u0000" in nul.body
    long_id = "evt_" + "x" * 400
    for request in good:
        assert receiver(request).status_code == 200
    assert receiver(nul).status_code == 200
    assert receiver(stripe(long_id)).status_code == 200
    answers = [
        receiver(stripe("evt_rid_long").with_headers(X_Request_ID="r" * 65)),
        receiver(stripe("evt_rid_bad").with_headers(X_Request_ID="bad id!")),
        receiver(stripe("evt_rid_ok").with_headers(X_Request_ID="ok-id.1_2")),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert answers[2].headers["x-request-id"] == "ok-id.1_2"
    assert answers[0].headers["x-request-id"] != "r" * 65

    service.ingest(drain(broker))

    stored = rows(db)
    assert len(stored) == 11
    assert {e.status for e in stored.values()} == {"processed"}
    kept = stored["evt_nul"]
    assert kept.raw_body == nul.body  # the bytes as they arrived
    assert kept.payload is not None and kept.payload["description"] == "a\\u0000b"
    [bounded] = [e for e in stored.values() if e.external_id.startswith("evt_xxx")]
    assert len(bounded.external_id) == EXTERNAL_ID_MAX and bounded.external_id[-17] == "~"
    assert stored["evt_rid_ok"].request_id == "ok-id.1_2"
    assert stored["evt_rid_long"].request_id == answers[0].headers["x-request-id"]
    assert stored["evt_rid_bad"].request_id not in (None, "bad id!")


def _cloudpayments(**fields: str) -> Request:
    body = fixture("cloudpayments", "pay.txt").decode()
    for name, value in fields.items():
        body = "&".join(
            f"{name}={value}" if part.startswith(f"{name}=") else part for part in body.split("&")
        )
    return CloudPaymentsCase().signed(body.encode())


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"Currency": "EURO"}, "currency must be an upper-case ISO code"),
        ({"Amount": "-100.00"}, "must not be negative"),
        ({"Amount": "1e30"}, "out of range"),
    ],
)
def test_a_malformed_value_in_a_verified_event_is_dead_at_once(
    receiver: Send,
    broker: str,
    service: EventService,
    db: sessionmaker[Session],
    fields: dict[str, str],
    reason: str,
) -> None:
    assert receiver(_cloudpayments(**fields)).status_code == 200
    assert receiver(CASES["stripe"].valid()).status_code == 200
    _, result = service.ingest(drain(broker))
    assert len(result.dead) == 1 and not result.retry
    by_source = {e.source: e for e in rows(db).values()}
    dead = by_source["cloudpayments"]
    assert (dead.status, dead.attempts) == ("dead", 1)
    assert dead.last_error is not None and reason in dead.last_error
    assert by_source["stripe"].status == "processed"


def test_request_with_json_lone_surrogate_is_refused_or_stored(
    receiver: Send, broker: str, service: EventService, db: sessionmaker[Session]
) -> None:
    """A lone surrogate escape: a provider whose parser refuses it answers 400, never 5xx;
    whatever is accepted is stored."""
    body = json.dumps({"id": "evt_sur", "object": "event", "type": "x", "note": "\ud800"})
    request = StripeCase().signed(body.encode())
    answer = receiver(request)
    assert answer.status_code in (200, 400)
    service.ingest(drain(broker))
    assert len(rows(db)) == (1 if answer.status_code == 200 else 0)


def test_a_value_postgres_refuses_in_a_handler_is_dead_at_once(
    receiver: Send, broker: str, service: EventService, db: sessionmaker[Session]
) -> None:
    """A payment id longer than its column: PostgreSQL's DataError is about the event's
    own value, so retrying cannot help."""
    long_intent = stripe("evt_long_intent", intent_id="pi_" + "x" * 200)
    assert receiver(long_intent).status_code == 200
    assert receiver(stripe("evt_fine", intent_id="pi_fine")).status_code == 200
    _, result = service.ingest(drain(broker))
    assert len(result.dead) == 1 and not result.retry
    stored = rows(db)
    assert (stored["evt_long_intent"].status, stored["evt_long_intent"].attempts) == ("dead", 1)
    assert "too long" in (stored["evt_long_intent"].last_error or "")
    assert stored["evt_fine"].status == "processed"
