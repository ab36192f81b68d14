"""Unsigned providers: YooKassa's networks by default, ATOL and OrangeData only behind an
allowlist or a secret path token, and a repeat of a finished event is re-checked so an
early forged delivery cannot take the real event's dedup key."""

from __future__ import annotations

import json

import pytest
import respx
from loguru import logger
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli import app as cli
from pipeline.domain.normalized import NormalizedEvent, PaymentEvent, PaymentStatus
from pipeline.events.service import EventService
from pipeline.providers.atol import AtolSettings
from pipeline.providers.unsigned import callback_path
from schema.events import Event, EventStatus
from tests.pipeline.providers.apis import YOOKASSA_PAYMENT, json_response, use_test_apis
from tests.pipeline.providers.cases import CASES, AtolCase, OrangeDataCase, fixture_json
from tests.pipeline.providers.conftest import OUTSIDE, Send, drain, enqueued, running_receiver


def test_yookassa_networks_are_enforced_by_default(
    broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("YOOKASSA_ENFORCE_OFFICIAL_NETWORKS")
    with running_receiver(broker, client=OUTSIDE) as (_, send):
        assert send(CASES["yookassa"].valid()).status_code == 403
    with running_receiver(broker, client="185.71.76.10") as (_, send):
        assert send(CASES["yookassa"].valid()).status_code == 200
    assert enqueued(broker) == 1


@pytest.mark.parametrize("case", [AtolCase(), OrangeDataCase()], ids=lambda c: c.provider)
def test_unguarded_callbacks_are_refused(
    case: AtolCase | OrangeDataCase, broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(f"{case.provider.upper()}_CALLBACK_TOKEN")
    with running_receiver(broker) as (_, send):
        # With no guard the route is as good as absent, token in the path or not.
        assert send(case.valid()).status_code == 404
        assert send(case.missing_auth()).status_code == 404
    monkeypatch.setenv(f"{case.provider.upper()}_ALLOWED_NETWORKS", "127.0.0.1")
    with running_receiver(broker) as (_, send):
        assert send(case.missing_auth()).status_code == 200
    assert enqueued(broker) == 1


@pytest.mark.parametrize("case", [AtolCase(), OrangeDataCase()], ids=lambda c: c.provider)
def test_the_path_token_is_checked(case: AtolCase | OrangeDataCase, receiver: Send) -> None:
    assert receiver(case.valid()).status_code == 200
    wrong = receiver(case.signed(case.valid().body, token="guess"))
    assert wrong.status_code == 403 and "token" in wrong.json()["detail"]
    assert receiver(case.missing_auth()).status_code == 403


def test_a_rotated_atol_token_is_still_accepted_and_the_newest_is_sent(receiver: Send) -> None:
    assert receiver(AtolCase().signed(AtolCase().valid().body, "atol-cb-old")).status_code == 200
    assert callback_path("atol", AtolSettings()) == "/webhooks/atol/atol-cb-new"


def test_providers_list_shows_who_can_post(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORANGEDATA_CALLBACK_TOKEN")
    result = CliRunner().invoke(cli, ["providers", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert rows["stripe"]["exposure"] == "signed"
    assert rows["atol"]["exposure"] == "guarded"
    assert rows["orangedata"]["exposure"] == "refused"
    assert "ORANGEDATA_CALLBACK_TOKEN" in rows["orangedata"]["exposure_note"]
    assert rows["yookassa"]["exposure"] == "open"  # the test environment turns it off
    text = CliRunner().invoke(cli, ["providers", "list"]).output
    assert "refused" in text and "open" in text


def test_an_early_forged_delivery_does_not_swallow_the_real_one(
    receiver: Send,
    broker: str,
    service: EventService,
    db: sessionmaker[Session],
    delivered: list[NormalizedEvent],
) -> None:
    use_test_apis(service.deps)
    answers = [
        json_response(fixture_json("yookassa", "api_payment_pending.json")),
        json_response(fixture_json("yookassa", "api_payment_succeeded.json")),
    ]
    with respx.mock() as router:
        api = router.get(YOOKASSA_PAYMENT).mock(side_effect=answers)
        # A forger posts "payment.succeeded" for a payment still pending.
        receiver(CASES["yookassa"].valid())
        first = service.store(drain(broker))
        service.process(first.to_process)
        # YooKassa's own notification, same object and event: same dedup key.
        receiver(CASES["yookassa"].valid())
        second = service.store(drain(broker))
        assert second.to_process == first.to_process  # a repeat, yet checked again
        service.process(second.to_process)
    assert api.call_count == 2
    assert [e.status for e in delivered if isinstance(e, PaymentEvent)] == [
        PaymentStatus.PENDING,
        PaymentStatus.SUCCEEDED,
    ]
    with db() as session:
        event = session.get(Event, first.to_process[0])
        assert event is not None
        assert (event.status, event.duplicates) == (EventStatus.PROCESSED.value, 1)


def test_a_repeat_of_a_signed_providers_event_stays_a_duplicate(
    receiver: Send, broker: str, service: EventService
) -> None:
    receiver(CASES["tbank"].valid())
    first = service.store(drain(broker))
    service.process(first.to_process)
    receiver(CASES["tbank"].valid())
    assert service.store(drain(broker)).to_process == []


def test_a_rejected_callback_does_not_log_its_token(receiver: Send) -> None:
    records: list[str] = []
    sink = logger.add(lambda m: records.append(f"{m.record['message']} {m.record['extra']}"))
    try:
        response = receiver(AtolCase().signed(b'{"uuid": "x"}'))  # right token, bad body
    finally:
        logger.remove(sink)
    assert response.status_code == 400
    assert records and not any("atol-cb-new" in line for line in records)
