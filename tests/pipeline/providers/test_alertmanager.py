"""Alertmanager notifications: authentication (bearer and basic), payload version 4, the
dedup key, and the worker turning firing and resolved alerts into operator alerts."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.alerts.prometheus import alert_key, alert_text
from pipeline.events.service import EventService
from pipeline.providers.alertmanager import dedup_key
from pipeline.settings import get_settings
from schema.events import Event, EventStatus
from schema.messaging import Notification
from schema.operations import Alert
from tests.pipeline.providers.cases import AlertmanagerCase, Request, alertmanager_notification
from tests.pipeline.providers.conftest import Send, drain, enqueued

CASE = AlertmanagerCase()


def _body(**changes: Any) -> bytes:
    return json.dumps({**alertmanager_notification(), **changes}).encode()


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (_basic("alertmanager", "am-pass"), 200),
        (_basic("someone", "am-pass"), 401),
        (_basic("alertmanager", "wrong"), 401),
        ({"Authorization": "Basic !!!", "Content-Type": "application/json"}, 401),
        ({"Authorization": "Digest x", "Content-Type": "application/json"}, 401),
        ({"Authorization": "Bearer am-token-old", "Content-Type": "application/json"}, 200),
    ],
)
def test_basic_auth_and_rotated_tokens(
    headers: dict[str, str], status: int, receiver: Send, broker: str
) -> None:
    response = receiver(Request("/webhooks/alertmanager", _body(), headers))
    assert response.status_code == status, response.text
    assert enqueued(broker) == (1 if status == 200 else 0)


@pytest.mark.parametrize(
    "body",
    [
        _body(version="3"),
        _body(status="pending"),
        _body(alerts=[{"status": "firing", "labels": {}}]),
        _body(alerts=["not an alert"]),
        _body(groupKey=None),
    ],
)
def test_not_a_version_4_notification_is_a_400(body: bytes, receiver: Send, broker: str) -> None:
    response = receiver(CASE.signed(body))
    assert response.status_code == 400, response.text
    assert "detail" in response.text and enqueued(broker) == 0


def test_dedup_key_is_group_status_and_alert_identities() -> None:
    firing = alertmanager_notification()
    assert dedup_key(firing) == dedup_key(json.loads(json.dumps(firing)))  # a repeat
    assert dedup_key(firing) != dedup_key(alertmanager_notification("resolved"))
    again = alertmanager_notification(startsAt="2026-01-02T12:00:00Z")  # fires anew
    assert dedup_key(firing) != dedup_key(again)
    other = alertmanager_notification(fingerprint="ffff000011112222")
    assert dedup_key(firing) != dedup_key(other)
    grouped = alertmanager_notification()
    grouped["groupKey"] = "{}:{}"
    assert dedup_key(firing) != dedup_key(grouped)


def test_alert_text_names_labels_and_runbook(monkeypatch: pytest.MonkeyPatch) -> None:
    alert = alertmanager_notification()["alerts"][0]
    text = alert_text(alert, "https://docs.example.com/")
    assert text.splitlines() == [
        "Prometheus EventsDead (warning): stripe: events went dead",
        "source=stripe",
        "runbook: https://docs.example.com/operations/alerts/",
    ]
    assert alert_key(alert) == "prometheus:EventsDead:a1b2c3d4e5f60718"
    absolute = {**alert, "annotations": {"runbook_url": "https://wiki/x"}}
    assert alert_text(absolute, "https://docs.example.com").endswith("runbook: https://wiki/x")


def _alert_messages(db: sessionmaker[Session]) -> list[str]:
    with db() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id))
        return [r.text or "" for r in rows if r.kind == "alert" and r.chat_id == -500]


@pytest.fixture
def alert_chat(monkeypatch: pytest.MonkeyPatch) -> None:
    """The alert chat and the runbook base, set before the event service's Deps is built."""
    monkeypatch.setenv("ALERT_CHAT_ID", "-500")
    monkeypatch.setenv("ALERTMANAGER_RUNBOOK_BASE_URL", "https://docs.example.com")
    get_settings.cache_clear()


def test_firing_then_resolved_reach_the_alert_chat_once_each(
    receiver: Send,
    broker: str,
    alert_chat: None,
    service: EventService,
    db: sessionmaker[Session],
) -> None:
    firing = json.dumps(alertmanager_notification()).encode()
    for _ in range(2):  # repeat_interval: the same notification again
        assert receiver(CASE.signed(firing)).status_code == 200
    stored = service.store(drain(broker))
    assert (stored.stored, stored.duplicates) == (1, 1)
    service.process(stored.to_process)
    texts = _alert_messages(db)
    assert len(texts) == 1 and texts[0].startswith("🔴 Prometheus EventsDead (warning)")
    assert "runbook: https://docs.example.com/operations/alerts/" in texts[0]

    resolved = json.dumps(alertmanager_notification("resolved")).encode()
    assert receiver(CASE.signed(resolved)).status_code == 200
    service.process(service.store(drain(broker)).to_process)
    texts = _alert_messages(db)
    assert len(texts) == 2 and texts[1].startswith("✅ resolved after")
    with db() as session:
        alert = session.get(Alert, "prometheus:EventsDead:a1b2c3d4e5f60718")
        assert alert is not None and alert.status == "resolved"
        statuses = session.scalars(select(Event.status).where(Event.source == "alertmanager"))
        assert set(statuses) == {EventStatus.PROCESSED.value}
