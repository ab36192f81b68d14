"""Every provider against the same checks: its own success answer for a valid request;
401/403 and nothing enqueued for a forged one; a 4xx with a message for a bad body."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pipeline.providers.cases import CASES, Case, Request
from tests.pipeline.providers.conftest import OUTSIDE, Send, enqueued, running_receiver

PROVIDERS = sorted(CASES)
FORGERIES = ("tampered", "wrong_secret", "missing_auth", "stale")
# Only what a provider can have: no body signature, no secret or no timestamp -> no case.
APPLICABLE = [
    (name, variant)
    for name in PROVIDERS
    for variant in FORGERIES
    if getattr(CASES[name], variant)() is not None
]


def _case(name: str) -> Case:
    return CASES[name]


def _assert_rejected(response: Any, status: int, broker: str) -> None:
    assert response.status_code == status, response.text
    assert response.text, "a rejection says why"
    assert enqueued(broker) == 0


@pytest.mark.parametrize("name", PROVIDERS)
def test_valid_request_gets_the_providers_success_answer(
    name: str, receiver: Send, broker: str
) -> None:
    response = receiver(_case(name).valid())
    assert response.status_code == 200, response.text
    assert response.content == _case(name).success_body
    assert enqueued(broker) == 1


@pytest.mark.parametrize(("name", "variant"), APPLICABLE)
def test_forged_request_is_rejected_and_not_enqueued(
    name: str, variant: str, receiver: Send, broker: str
) -> None:
    request: Request = getattr(_case(name), variant)()
    response = receiver(request)
    assert response.status_code in {401, 403}, response.text
    _assert_rejected(response, response.status_code, broker)


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize(
    ("variant", "status"), [("malformed", 400), ("empty", 400), ("wrong_content_type", 415)]
)
def test_bad_body_is_a_4xx_with_a_message(
    name: str, variant: str, status: int, receiver: Send, broker: str
) -> None:
    response = receiver(getattr(_case(name), variant)())
    _assert_rejected(response, status, broker)
    assert "detail" in response.text or name in {"cloudpayments", "cloudkassir"}


@pytest.mark.parametrize("name", PROVIDERS)
def test_allowlist_rejects_other_sources(
    name: str, broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{name.upper()}_ALLOWED_NETWORKS", "198.51.100.0/24")
    with running_receiver(broker, client=OUTSIDE) as (_, send):
        _assert_rejected(send(_case(name).valid()), 403, broker)
    with running_receiver(broker, client="198.51.100.20") as (_, send):
        assert send(_case(name).valid()).status_code == 200


@pytest.mark.parametrize("name", [n for n in PROVIDERS if CASES[n].official_address])
def test_official_networks_when_enforced(
    name: str, broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{name.upper()}_ENFORCE_OFFICIAL_NETWORKS", "true")
    with running_receiver(broker, client=OUTSIDE) as (_, send):
        _assert_rejected(send(_case(name).valid()), 403, broker)
    with running_receiver(broker, client=str(_case(name).official_address)) as (_, send):
        assert send(_case(name).valid()).status_code == 200


@pytest.mark.parametrize("name", PROVIDERS)
def test_unconfigured_provider_is_a_404(name: str, broker: str, monkeypatch: Any) -> None:
    for var in _credentials(name):
        monkeypatch.delenv(var, raising=False)
    with running_receiver(broker) as (_, send):
        _assert_rejected(send(_case(name).valid()), 404, broker)


def _credentials(name: str) -> list[str]:
    return {
        "telegram": ["TELEGRAM_WEBHOOK_SECRET"],
        "stripe": ["STRIPE_WEBHOOK_SECRET"],
        "yookassa": ["YOOKASSA_SECRET_KEY"],
        "cloudpayments": ["CLOUDPAYMENTS_API_SECRET"],
        "cloudkassir": ["CLOUDKASSIR_API_SECRET"],
        "tbank": ["TBANK_PASSWORD"],
        "robokassa": ["ROBOKASSA_PASSWORD2"],
        "atol": ["ATOL_PASSWORD"],
        "orangedata": ["ORANGEDATA_CLIENT_CERT"],
        "alertmanager": ["ALERTMANAGER_WEBHOOK_TOKEN", "ALERTMANAGER_WEBHOOK_PASSWORD"],
    }[name]
