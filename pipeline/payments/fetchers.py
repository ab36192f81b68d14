"""Re-fetching a payment's state from its provider's API, for reconciliation.

Each fetcher returns a PaymentEvent normalized like a webhook would be, or None when
the provider cannot be asked (not configured, unknown payment kind).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import httpx

from pipeline.deps import Deps
from pipeline.domain.normalized import PaymentEvent
from pipeline.providers import stripe as stripe_provider
from pipeline.providers import tbank as tbank_provider
from pipeline.providers import yookassa as yookassa_provider
from pipeline.providers.api.http import call, json_body, rejected, timeout
from pipeline.settings import secret_values

Fetcher = Callable[[Deps, str, str], PaymentEvent | None]


def yookassa(deps: Deps, payment_id: str, ref: str) -> PaymentEvent | None:
    return yookassa_provider.normalize_payment(deps.apis.yookassa.get_payment(payment_id), ref)


def stripe(
    deps: Deps, payment_id: str, ref: str, client: httpx.Client | None = None
) -> PaymentEvent | None:
    settings = deps.providers.stripe
    keys = secret_values(settings.api_key)
    if not keys or not payment_id.startswith("pi_"):
        return None
    client = client or httpx.Client(timeout=timeout(5.0))
    url = f"{settings.api_base.rstrip('/')}/v1/payment_intents/{payment_id}"
    what = f"Stripe payment_intent {payment_id}"
    headers = {"Authorization": f"Bearer {keys[0]}"}
    response = call(partial(client.get, url, headers=headers), what)
    if response.status_code != 200:
        raise rejected(response, what)
    intent = json_body(response, what)
    event = {"data": {"object": intent}}
    events = stripe_provider.normalize("payment_intent.reconciled", event, ref)
    found = [e for e in events if isinstance(e, PaymentEvent)]
    return found[0] if found else None


def tbank(
    deps: Deps, payment_id: str, ref: str, client: httpx.Client | None = None
) -> PaymentEvent | None:
    """GetState with each configured terminal in turn: a payment belongs to one of them,
    and only its own terminal's answer carries ErrorCode 0."""
    settings = deps.providers.tbank
    pairs = settings.pairs()
    if not pairs:
        return None
    client = client or httpx.Client(timeout=timeout(5.0))
    what = f"T-Bank GetState {payment_id}"
    url = f"{settings.api_base.rstrip('/')}/GetState"
    for terminal, password in pairs:
        body: dict[str, object] = {"TerminalKey": terminal, "PaymentId": payment_id}
        body["Token"] = tbank_provider.make_token(body, password)
        response = call(partial(client.post, url, json=body), what)
        if response.status_code != 200:
            raise rejected(response, what)
        state = json_body(response, what)
        if str(state.get("ErrorCode", "0")) == "0":
            return tbank_provider.normalize_payment(state, ref)
    return None  # no terminal knows it: leave the payment for the next round


FETCHERS: dict[str, Fetcher] = {"yookassa": yookassa, "stripe": stripe, "tbank": tbank}
