"""Random headers and bodies at every provider route: never a 5xx.

Some generated requests are near-valid (a real request with bytes flipped or headers
dropped), so the paths past the signature check get exercised too.
"""

from __future__ import annotations

import json
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.providers.cases import CASES, Request
from tests.providers.conftest import Send

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


@st.composite
def random_requests(draw: st.DrawFn) -> Request:
    provider = draw(st.sampled_from(PROVIDERS))
    kind = draw(st.none() | TOKEN)
    path = f"/webhooks/{provider}" + (f"/{kind}" if kind else "")
    headers = draw(
        st.dictionaries(st.sampled_from(KNOWN_HEADERS) | TOKEN, HEADER_VALUE, max_size=6)
    )
    if draw(st.booleans()):
        headers["content-type"] = draw(MEDIA)
    params = draw(st.none() | st.dictionaries(TOKEN, st.text(max_size=20), max_size=5))
    method = draw(st.sampled_from(["POST", "POST", "GET", "PUT"]))
    return Request(path, draw(BODIES), headers, method, params)


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


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=random_requests() | mangled_valid_requests())
def test_no_input_makes_a_5xx(receiver: Send, request: Request) -> None:
    response = receiver(request)
    assert response.status_code < 500, (request, response.status_code, response.text)
