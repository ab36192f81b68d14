"""Unsigned providers: the worker asks the provider's API and believes the API.

The webhook only says where to look; a forged "succeeded" that the API reports as
pending arrives in the domain as pending. 4xx answers are not retried (the event goes
dead); 5xx and timeouts are retried a few times, then the event waits for its retry.
"""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from sqlalchemy.orm import Session, sessionmaker

from pipeline.domain.normalized import (
    NormalizedEvent,
    PaymentEvent,
    PaymentStatus,
    ReceiptEvent,
    ReceiptStatus,
)
from pipeline.events.service import EventService, ProcessResult
from schema.events import Event, EventStatus
from tests.pipeline.providers.apis import (
    ATOL_REPORT,
    ATOL_TOKEN,
    ORANGEDATA_ID,
    ORANGEDATA_STATUS,
    YOOKASSA_PAYMENT,
    YOOKASSA_REFUND,
    json_response,
    use_test_apis,
)
from tests.pipeline.providers.cases import CASES, YooKassaCase, fixture, fixture_json
from tests.pipeline.providers.conftest import Send, drain


def ingest(service: EventService, broker: str) -> ProcessResult:
    stored = service.store(drain(broker))
    return service.process(stored.to_process)


def status_of(db: sessionmaker[Session], event_id: int) -> tuple[str, str | None]:
    with db() as session:
        event = session.get(Event, event_id)
        assert event is not None
        return event.status, event.last_error


@pytest.fixture(autouse=True)
def _apis(service: EventService) -> None:
    use_test_apis(service.deps)


def test_yookassa_api_wins_over_a_forged_succeeded(
    receiver: Send, broker: str, service: EventService, delivered: list[NormalizedEvent]
) -> None:
    assert receiver(CASES["yookassa"].valid()).status_code == 200  # claims "succeeded"
    with respx.mock() as router:
        api = router.get(YOOKASSA_PAYMENT).mock(
            return_value=json_response(fixture_json("yookassa", "api_payment_pending.json"))
        )
        result = ingest(service, broker)
    assert len(result.processed) == 1
    assert api.call_count == 1
    request = api.calls.last.request
    assert request.headers["authorization"].startswith("Basic ")
    [event] = delivered
    assert isinstance(event, PaymentEvent)
    assert (event.status, event.paid_amount) == (PaymentStatus.PENDING, 0)


def test_yookassa_unknown_payment_goes_dead_without_retries(
    receiver: Send,
    broker: str,
    service: EventService,
    db: sessionmaker[Session],
    delivered: list[NormalizedEvent],
) -> None:
    receiver(CASES["yookassa"].valid())
    with respx.mock() as router:
        api = router.get(YOOKASSA_PAYMENT).mock(
            return_value=json_response({"type": "error", "code": "not_found"}, 404)
        )
        result = ingest(service, broker)
    assert api.call_count == 1  # a 4xx is an answer, not a failure to retry
    assert len(result.dead) == 1
    status, error = status_of(db, result.dead[0])
    assert status == EventStatus.DEAD.value and "404" in (error or "")
    assert delivered == []


def test_yookassa_outage_is_retried_then_left_for_later(
    receiver: Send,
    broker: str,
    service: EventService,
    db: sessionmaker[Session],
    delivered: list[NormalizedEvent],
) -> None:
    receiver(CASES["yookassa"].valid())
    with respx.mock() as router:
        api = router.get(YOOKASSA_PAYMENT).mock(side_effect=httpx.ConnectTimeout("slow"))
        result = ingest(service, broker)
    assert api.call_count == 3
    assert len(result.retry) == 1
    assert status_of(db, result.retry[0][0])[0] == EventStatus.FAILED.value
    assert delivered == []


def test_yookassa_rotated_keys_are_tried_in_turn(
    receiver: Send, broker: str, service: EventService, delivered: list[NormalizedEvent]
) -> None:
    receiver(CASES["yookassa"].valid())
    with respx.mock() as router:
        api = router.get(YOOKASSA_PAYMENT).mock(
            side_effect=[
                json_response({"type": "error", "code": "invalid_credentials"}, 401),
                json_response(fixture_json("yookassa", "api_payment_succeeded.json")),
            ]
        )
        ingest(service, broker)
    assert api.call_count == 2
    first, second = (call.request.headers["authorization"] for call in api.calls)
    assert first != second
    assert isinstance(delivered[0], PaymentEvent)
    assert delivered[0].status is PaymentStatus.SUCCEEDED


def test_yookassa_refund_reports_the_payments_totals(
    receiver: Send, broker: str, service: EventService, delivered: list[NormalizedEvent]
) -> None:
    receiver(YooKassaCase().signed(fixture("yookassa", "refund.succeeded.json")))
    with respx.mock() as router:
        router.get(YOOKASSA_REFUND).mock(
            return_value=json_response(fixture_json("yookassa", "api_refund.json"))
        )
        router.get(YOOKASSA_PAYMENT).mock(
            return_value=json_response(
                fixture_json("yookassa", "api_payment_partially_refunded.json")
            )
        )
        ingest(service, broker)
    [event] = delivered
    assert isinstance(event, PaymentEvent)
    assert event.status is PaymentStatus.PARTIALLY_REFUNDED
    assert (event.amount, event.refunded_amount) == (200, 100)


def _atol_token(router: respx.MockRouter) -> respx.Route:
    return router.post(ATOL_TOKEN).mock(
        return_value=json_response(fixture_json("atol", "token.json"))
    )


def test_atol_report_still_waiting_means_retry_later(
    receiver: Send, broker: str, service: EventService, delivered: list[NormalizedEvent]
) -> None:
    receiver(CASES["atol"].valid())  # the callback says "done"
    with respx.mock() as router:
        token = _atol_token(router)
        report = router.get(ATOL_REPORT).mock(
            return_value=json_response(fixture_json("atol", "report_wait.json"))
        )
        result = ingest(service, broker)
    assert json.loads(token.calls.last.request.content) == {
        "login": "v5-online-atol-ru",
        "pass": "atol-pass",
    }
    assert report.calls.last.request.headers["token"] == "fj45u923j59ju42395iu9423i59243u0"
    assert len(result.retry) == 1
    assert delivered == []


def test_atol_failed_receipt_carries_the_error(
    receiver: Send, broker: str, service: EventService, delivered: list[NormalizedEvent]
) -> None:
    receiver(CASES["atol"].valid())  # the callback says "done", the API says "fail"
    with respx.mock() as router:
        _atol_token(router)
        router.get(ATOL_REPORT).mock(
            return_value=json_response(fixture_json("atol", "report_fail.json"))
        )
        ingest(service, broker)
    [event] = delivered
    assert isinstance(event, ReceiptEvent)
    assert event.status is ReceiptStatus.FAIL
    assert event.error is not None and event.error.startswith("32:")


def test_atol_expired_token_is_renewed_once(
    receiver: Send, broker: str, service: EventService, delivered: list[NormalizedEvent]
) -> None:
    receiver(CASES["atol"].valid())
    with respx.mock() as router:
        token = _atol_token(router)
        router.get(ATOL_REPORT).mock(
            side_effect=[
                json_response({"error": {"code": 11, "text": "expired"}}, 401),
                json_response(fixture_json("atol", "callback_done.json")),
            ]
        )
        ingest(service, broker)
    assert token.call_count == 2
    [event] = delivered
    assert isinstance(event, ReceiptEvent) and event.status is ReceiptStatus.DONE
    assert event.fiscal is not None
    assert event.fiscal.total == 10000
    assert event.fiscal.fiscal_document_number == "133"


def test_atol_refused_credentials_go_dead(
    receiver: Send, broker: str, service: EventService, delivered: list[NormalizedEvent]
) -> None:
    receiver(CASES["atol"].valid())
    with respx.mock() as router:
        router.post(ATOL_TOKEN).mock(
            return_value=json_response(
                {"error": {"code": 12, "text": "wrong login or password"}, "token": None}, 401
            )
        )
        result = ingest(service, broker)
    assert len(result.dead) == 1
    assert delivered == []


def test_orangedata_queued_document_is_retried(
    receiver: Send, broker: str, service: EventService, delivered: list[NormalizedEvent]
) -> None:
    receiver(CASES["orangedata"].valid())
    with respx.mock() as router:
        router.get(ORANGEDATA_STATUS).mock(return_value=httpx.Response(202))
        result = ingest(service, broker)
    assert len(result.retry) == 1
    assert delivered == []


def test_orangedata_document_from_the_api(
    receiver: Send, broker: str, service: EventService, delivered: list[NormalizedEvent]
) -> None:
    receiver(CASES["orangedata"].valid())
    with respx.mock() as router:
        router.get(ORANGEDATA_STATUS).mock(
            return_value=json_response(fixture_json("orangedata", "callback.json"))
        )
        ingest(service, broker)
    [event] = delivered
    assert isinstance(event, ReceiptEvent)
    assert event.receipt_id == ORANGEDATA_ID
    assert event.fiscal is not None
    assert (event.fiscal.total, event.fiscal.fn_number) == (10050, "9999078900001341")
    assert event.fiscal.fiscal_document_attribute == "787980846"


def test_orangedata_unknown_document_goes_dead(
    receiver: Send, broker: str, service: EventService, delivered: list[NormalizedEvent]
) -> None:
    receiver(CASES["orangedata"].valid())
    with respx.mock() as router:
        api = router.get(ORANGEDATA_STATUS).mock(
            return_value=json_response({"errors": ["Document not found"]}, 400)
        )
        result = ingest(service, broker)
    assert api.call_count == 1
    assert len(result.dead) == 1
    assert delivered == []
