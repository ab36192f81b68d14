"""The `pipeline` command against a real database and broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli import app
from pipeline.messaging.queues import INGEST
from schema.events import Event
from tests.support.broker import purge, queued

runner = CliRunner()


def add_event(
    db: sessionmaker[Session], external_id: str, status: str, source: str = "stripe"
) -> int:
    with db() as session:
        event = Event(
            source=source,
            type="payment_intent.succeeded",
            external_id=external_id,
            status=status,
            attempts=8 if status == "dead" else 1,
            payload={"id": external_id},
            raw_body=b"{}",
            headers={},
            received_at=datetime.now(UTC),
            last_error="boom" if status == "dead" else None,
        )
        session.add(event)
        session.commit()
        return event.id


def test_events_list_json_filters_and_fields(db: sessionmaker[Session]) -> None:
    add_event(db, "evt_a", "processed")
    add_event(db, "evt_b", "dead")
    add_event(db, "1", "processed", source="telegram")
    result = runner.invoke(app, ["events", "list", "--json", "--source", "stripe"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["external_id"] for r in rows] == ["evt_b", "evt_a"]
    expected = {
        "id",
        "source",
        "type",
        "external_id",
        "status",
        "attempts",
        "received_at",
        "processed_at",
        "last_error",
    }
    assert expected <= set(rows[0])
    result = runner.invoke(app, ["events", "list", "--json", "--status", "dead"])
    assert [r["external_id"] for r in json.loads(result.output)] == ["evt_b"]
    result = runner.invoke(app, ["events", "list", "--limit", "1"])
    assert result.exit_code == 0 and "telegram" in result.output


def test_events_list_rejects_unknown_status(db: sessionmaker[Session]) -> None:
    result = runner.invoke(app, ["events", "list", "--status", "nonsense"])
    assert result.exit_code != 0


def test_events_show(db: sessionmaker[Session]) -> None:
    event_id = add_event(db, "evt_s", "dead")
    result = runner.invoke(app, ["events", "show", str(event_id), "--json"])
    assert result.exit_code == 0, result.output
    detail = json.loads(result.output)
    assert detail["payload"] == {"id": "evt_s"} and detail["last_error"] == "boom"
    assert runner.invoke(app, ["events", "show", "424242"]).exit_code == 1


def test_events_replay_queues_the_event(db: sessionmaker[Session], broker_url: str) -> None:
    event_id = add_event(db, "evt_r", "dead")
    purge(broker_url, INGEST)
    result = runner.invoke(app, ["events", "replay", str(event_id)])
    assert result.exit_code == 0, result.output
    assert queued(broker_url, INGEST) == 1
    with db() as session:
        event = session.get(Event, event_id)
        assert event is not None and event.status == "received"


@pytest.mark.parametrize(
    "command",
    [["--help"], ["events", "--help"], ["up", "--help"], ["api", "--help"],
     ["staff", "--help"], ["apikeys", "--help"]],
)  # fmt: skip
def test_help(command: list[str]) -> None:
    assert runner.invoke(app, command).exit_code == 0
