"""Random methods, paths, headers and bodies at every route the receiver serves (each
provider with and without extra path segments, health, readiness, metrics, unknown
paths): never a 5xx.

Some generated requests are near-valid (a real request with bytes flipped or headers
dropped) or hostile but correctly signed, so the paths past the signature check get
exercised too; the inputs that once caused a 500 are always among the examples.
"""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.pipeline.providers.cases import CASES, Request
from tests.pipeline.providers.conftest import Send

PROVIDERS = sorted(CASES)
KNOWN_HEADERS = [
    "content-type",
    "content-hmac",
    "x-content-hmac",
    "stripe-signature",
    "x-telegram-bot-api-secret-token",
    "x-forwarded-for",
    "x-request-id",
]
MEDIA = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "application/json; charset=utf-8",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
        "application/x-www-form-urlencoded; charset=cp1251",
    ]
)
TOKEN = st.text(
    st.characters(codec="ascii", categories=["L", "N"], include_characters="-_"),
    min_size=1,
    max_size=20,
)
HEADER_VALUE = st.text(
    st.characters(codec="latin-1", exclude_characters="\r\n\x00"), max_size=80
).map(str.strip)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
BODIES = st.one_of(
    st.binary(max_size=512),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(TOKEN, st.text(max_size=20), max_size=8).map(
        lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode("utf-8", "surrogatepass")
    ),
)


METHODS = st.sampled_from(["POST", "POST", "GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"])
SEGMENT = TOKEN | st.sampled_from(["pay", "check", "receipt", "%2e%2e", "%00", "a%2Fb", "..", "ü"])
OTHER_PATHS = st.sampled_from(
    [
        "/healthz",
        "/readyz",
        "/healthz/system",
        "/metrics",
        "/",
        "/webhooks",
        "/webhooks/",
        "/nothing",
        "/docs",
    ]
)
# JSON values that once broke a provider: lone surrogates, huge numbers, wrong types.
HOSTILE_VALUES = st.sampled_from(
    ['"\\ud800"', '"\\udfff x"', "1e999990", "-1e999990", "9" * 400, '"' + "9" * 400 + '"',
     "[]", "{}", "null", "true", '"abc\\n"', '"\\u0000"', '"1e999990"', '"NaN"', '"١٢٣"']
)  # fmt: skip
FIELDS = st.sampled_from(
    ["uuid", "status", "Token", "TerminalKey", "PaymentId", "Status", "Amount", "OutSum",
     "InvId", "TransactionId", "id", "type", "event", "object", "update_id", "companyINN",
     "Currency", "Id", "SignatureValue"]
)  # fmt: skip
HOSTILE_JSON = st.dictionaries(
    FIELDS, HOSTILE_VALUES | JSON_VALUES.map(json.dumps), max_size=6
).map(lambda d: ("{" + ",".join(f'"{k}": {v}' for k, v in d.items()) + "}").encode())
HOSTILE_FORM = st.dictionaries(FIELDS, HOSTILE_VALUES | st.text(max_size=10), max_size=6).map(
    lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode("utf-8", "surrogatepass")
)


def provider_path(draw: st.DrawFn) -> str:
    segments = draw(st.lists(SEGMENT, max_size=3))
    return "/".join([f"/webhooks/{draw(st.sampled_from(PROVIDERS))}", *segments])


@st.composite
def random_requests(draw: st.DrawFn) -> Request:
    if draw(st.integers(0, 4)):
        path = provider_path(draw)
    else:
        path = draw(OTHER_PATHS | TOKEN.map(lambda name: f"/webhooks/{name}"))
    headers = draw(
        st.dictionaries(st.sampled_from(KNOWN_HEADERS) | TOKEN, HEADER_VALUE, max_size=6)
    )
    if draw(st.booleans()):
        headers["content-type"] = draw(MEDIA)
    params = draw(st.none() | st.dictionaries(TOKEN, st.text(max_size=20), max_size=5))
    body = draw(BODIES | HOSTILE_JSON | HOSTILE_FORM)
    return Request(path, body, headers, draw(METHODS), params)


@st.composite
def signed_hostile_requests(draw: st.DrawFn) -> Request:
    """Hostile bodies signed the way each provider signs, so they reach the parser."""
    case = CASES[draw(st.sampled_from(PROVIDERS))]
    body = draw(HOSTILE_JSON | HOSTILE_FORM)
    return case.signed(body)


@st.composite
def mangled_valid_requests(draw: st.DrawFn) -> Request:
    request = CASES[draw(st.sampled_from(PROVIDERS))].valid()
    body = bytearray(request.body)
    for _ in range(draw(st.integers(0, 3))):
        if body:
            body[draw(st.integers(0, len(body) - 1))] = draw(st.integers(0, 255))
    headers = {
        k: v for k, v in request.headers.items() if draw(st.booleans()) or k == "Content-Type"
    }
    if draw(st.booleans()):
        body = body[: draw(st.integers(0, len(body)))]
    return replace(request, body=bytes(body), headers=headers)


JSON_HEADERS = {"Content-Type": "application/json"}
NOW = 1_700_000_000


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=random_requests() | mangled_valid_requests() | signed_hostile_requests())
@example(
    Request("/webhooks/stripe", b"{}", {**JSON_HEADERS, "Stripe-Signature": f"t={'9' * 400},v1=00"})
)
@example(
    Request("/webhooks/tbank", b'{"TerminalKey": "x", "Token": "ab", "A": "\\ud800"}', JSON_HEADERS)
)
@example(Request("/webhooks/atol/atol-cb-new", b'{"uuid": "a-1", "status": []}', JSON_HEADERS))
@example(Request("/webhooks/atol/atol-cb-new", b'{"uuid": "a-1", "status": {}}', JSON_HEADERS))
@example(
    Request(
        "/webhooks/robokassa",
        b"OutSum=1e999990&InvId=1&SignatureValue=00",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
)
@example(CASES["cloudpayments"].signed(b"TransactionId=1&Amount=1e999990&Currency=RUB"))
@example(CASES["cloudpayments"].signed(b"TransactionId=%D9%A1&Amount=1"))
@example(
    Request(
        "/webhooks/yookassa",
        b'{"type": "notification", "event": "payment.x", "object": {"id": "abc\\n"}}',
        JSON_HEADERS,
    )
)
@example(Request("/readyz", method="GET"))
@example(Request("/healthz/system", method="GET"))
@example(Request("/metrics", method="GET"))
@example(Request("/healthz", method="HEAD"))
@example(Request("/webhooks/telegram/a/b", b"{}", JSON_HEADERS, "PATCH"))
def test_no_input_makes_a_5xx(receiver: Send, request: Request) -> None:
    response = receiver(request)
    if request.path == "/healthz/system" and request.method == "GET":
        # This receiver has no database: "degraded" is the right answer, not an error.
        assert response.status_code in (200, 503), response.text
        return
    assert response.status_code < 500, (request, response.status_code, response.text)
