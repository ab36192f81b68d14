"""Stripe API: refunds, with the secret API key (STRIPE_API_KEY)."""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx

from pipeline.correlation import client_hooks
from pipeline.providers.api.http import ApiRejected, call, json_body, rejected, timeout
from pipeline.providers.stripe import StripeSettings
from pipeline.settings import secret_values


class HttpStripeApi:
    def __init__(self, settings: StripeSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.client = client or httpx.Client(timeout=timeout(5.0), event_hooks=client_hooks())

    def configured(self) -> bool:
        return bool(secret_values(self.settings.api_key))

    def create_refund(self, target: str, amount: int, key: str) -> dict[str, Any]:
        """Refund `amount` (minor units) of a payment intent (`pi_…`) or charge (`ch_…`).
        The same Idempotency-Key on every retry: Stripe answers a repeat with the first
        refund instead of making a second one."""
        keys = secret_values(self.settings.api_key)
        if not keys:
            raise ApiRejected("Stripe refunds need STRIPE_API_KEY")
        kind = "payment_intent" if target.startswith("pi_") else "charge"
        what = f"Stripe refund of {target}"
        response = call(
            partial(
                self.client.post,
                f"{self.settings.api_base.rstrip('/')}/v1/refunds",
                data={kind: target, "amount": str(amount)},
                headers={"Authorization": f"Bearer {keys[0]}", "Idempotency-Key": key},
            ),
            what,
        )
        if response.status_code != 200:
            raise rejected(response, what)
        return json_body(response, what)
