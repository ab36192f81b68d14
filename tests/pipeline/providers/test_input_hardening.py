"""Inputs that once made the receiver answer 500 (or the worker burn CPU), and id checks
that once let a trailing newline through: each is now a 4xx with a message."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from pipeline.domain.money import decimal_amount, minor_units
from pipeline.providers.atol import UUID, normalize_report
from pipeline.providers.base import InboundRequest, MalformedBody, WebhookRejected
from pipeline.providers.orangedata import INN
from pipeline.providers.parsing import digits, form_fields, fully_matches, json_lexemes
from pipeline.providers.stripe import parse_signature_header
from pipeline.providers.yookassa import EVENT, OBJECT_ID
from tests.pipeline.providers.cases import CASES, Request
from tests.pipeline.providers.conftest import Send, running_receiver
from webhooks.receive import verified

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


FATAL = [
    (Request("/webhooks/stripe", b"{}", {**JSON, "Stripe-Signature": f"t={'9' * 400},v1=0"}),
     401),
    (Request("/webhooks/tbank", b'{"TerminalKey": "x", "Token": "ab", "A": "\\ud800"}', JSON),
     400),
    (Request("/webhooks/atol/atol-cb-new", b'{"uuid": "a-1", "status": []}', JSON), 400),
    (Request("/webhooks/atol/atol-cb-new", b'{"uuid": "a-1", "status": {}}', JSON), 400),
    (Request("/webhooks/robokassa", b"OutSum=1e999990&InvId=1&SignatureValue=00", FORM), 400),
    (Request("/webhooks/yookassa", json.dumps({"type": "notification", "event":
             "payment.succeeded", "object": {"id": "abc\n"}}).encode(), JSON), 400),
    (Request("/webhooks/atol/atol-cb-new", b'{"uuid": "abc\\n", "status": "done"}', JSON), 400),
]  # fmt: skip


@pytest.mark.parametrize(
    ("request_", "status"),
    FATAL,
    ids=[
        "stripe-400-digit-timestamp",
        "tbank-lone-surrogate",
        "atol-status-list",
        "atol-status-object",
        "robokassa-huge-exponent",
        "yookassa-id-newline",
        "atol-uuid-newline",
    ],
)
def test_once_fatal_requests_get_a_4xx_with_a_message(
    receiver: Send, request_: Request, status: int
) -> None:
    started = time.perf_counter()
    response = receiver(request_)
    assert response.status_code == status, response.text
    assert response.json()["detail"]
    assert time.perf_counter() - started < 2


class Raises:
    """A provider (a plugin, say) with a bug: whatever it raises is a 400, not a 500."""

    name = "raises"
    methods = ("POST",)
    verifies = "nothing"

    def configured(self) -> bool:
        return True

    def accept(self, request: InboundRequest) -> object:
        empty: dict[str, object] = {}
        return empty["missing"]


def test_an_exception_inside_a_provider_becomes_a_400() -> None:
    inbound = InboundRequest("raises", "POST", "/x", b"", {}, {}, None, datetime.now(UTC))
    with pytest.raises(MalformedBody, match=r"could not be read \(KeyError\)"):
        verified(Raises(), inbound)  # type: ignore[arg-type]


def test_accepted_keys_must_fit_the_event_columns(receiver: Send) -> None:
    case = CASES["yookassa"]
    body = json.loads(case.valid().body)
    body["event"] = "payment." + "x" * 300
    response = receiver(case.signed(json.dumps(body).encode()))
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        (OBJECT_ID, "2d1c7a8e-000f-5000-9000-1b68e7b15f3f", "abc\n"),
        (EVENT, "payment.succeeded", "payment.succeeded\n"),
        (EVENT, "refund.succeeded", "refund." + "x" * 100),
        (UUID, "c9a3f2a4-9e53-4d6a-8f0e-0a2a4d6c3e11", "abc\n"),
        (INN, "7708806062", "7708806062\n"),
        (INN, "770880606212", "٧٧٠٨٨٠٦٠٦٢"),
    ],
)
def test_id_patterns_match_the_whole_string(pattern: object, good: str, bad: str) -> None:
    assert fully_matches(pattern, good)  # type: ignore[arg-type]
    assert not fully_matches(pattern, bad)  # type: ignore[arg-type]


def test_digits_are_ascii_and_bounded() -> None:
    assert digits("123") and not digits("²") and not digits("١٢") and not digits("1\n")
    assert not digits("") and not digits("1" * 21) and digits("1" * 20)


@pytest.mark.parametrize(
    "text", ["1e999990", "9e999999", "1e-999999", "0e999999999", "1" * 100, "1e18", "NaN"]
)
def test_absurd_amounts_are_refused_before_any_arithmetic(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ValueError):
        minor_units(text, "RUB")
    # Arithmetic on 1e999990 takes about 26 s here; a refusal takes microseconds.
    assert time.perf_counter() - started < 1.0


def test_sane_amounts_still_convert() -> None:
    assert minor_units("100.50", "RUB") == 10050
    assert minor_units("999999999999.99", "RUB") == 99999999999999
    assert decimal_amount("100.000000") == 100


def test_the_stripe_timestamp_is_bounded() -> None:
    now = int(time.time())
    assert parse_signature_header(f"t={now},v1=ab") == (now, ["ab"])
    for bad in ("t=" + "1" * 13, "t=+5", "t=1_000", "t= 5"):
        with pytest.raises(WebhookRejected):
            parse_signature_header(bad + ",v1=ab")


def test_a_nul_is_accepted_and_a_lone_surrogate_refused() -> None:
    # A NUL is content the worker escapes in the stored copy (tests/pipeline/providers/
    # test_unstorable_input.py); a lone surrogate cannot even be hashed for a signature.
    assert form_fields(b"a=1%00") == {"a": "1\x00"}
    with pytest.raises(MalformedBody):
        json_lexemes(b'{"a": "\\udc00"}')
    assert json_lexemes(b'{"a": "\\u00e9"}') == {"a": "é"}


def test_a_report_with_a_list_status_is_a_permanent_error() -> None:
    from pipeline.events.errors import PermanentError

    with pytest.raises(PermanentError):
        normalize_report({"uuid": "a", "status": []}, "ref")


def test_a_refused_source_is_not_told_the_address_resolved(
    broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YOOKASSA_ENFORCE_OFFICIAL_NETWORKS", "true")
    forwarded = CASES["yookassa"].valid().with_headers(X_Forwarded_For="198.51.100.23")
    with running_receiver(broker, client="10.0.0.5", trusted_proxies="10.0.0.0/8") as (_, send):
        response = send(forwarded)
    assert response.status_code == 403
    assert "198.51.100.23" not in response.text and "10.0.0.5" not in response.text


@pytest.mark.asyncio
async def test_a_content_length_of_unicode_digits_is_ignored() -> None:
    from starlette.requests import Request as StarletteRequest

    from webhooks.receive import read_body

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    headers = [(b"content-length", "²".encode("latin-1"))]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    assert await read_body(StarletteRequest(scope, receive), 1024) == b"{}"
