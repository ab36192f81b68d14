"""CloudPayments API: refunds and voids, with HTTP Basic (Public ID, API secret)."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

import httpx

from pipeline.correlation import client_hooks
from pipeline.domain.money import exponent
from pipeline.providers.api.http import ApiRejected, call, json_body, rejected, timeout
from pipeline.providers.cloudpayments import CloudPaymentsSettings
from pipeline.settings import secret_values


class HttpCloudPaymentsApi:
    def __init__(self, settings: CloudPaymentsSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.client = client or httpx.Client(timeout=timeout(5.0), event_hooks=client_hooks())

    def configured(self) -> bool:
        return bool(self.settings.public_id and secret_values(self.settings.api_secret))

    def _post(self, path: str, content: str, what: str) -> dict[str, Any]:
        secrets = secret_values(self.settings.api_secret)
        if not self.settings.public_id or not secrets:
            raise ApiRejected(
                "CloudPayments refunds need CLOUDPAYMENTS_PUBLIC_ID and CLOUDPAYMENTS_API_SECRET"
            )
        response = call(
            partial(
                self.client.post,
                f"{self.settings.api_base.rstrip('/')}{path}",
                content=content,
                headers={"Content-Type": "application/json"},
                auth=httpx.BasicAuth(self.settings.public_id, secrets[0]),
            ),
            what,
        )
        if response.status_code != 200:
            raise rejected(response, what)
        answer = json_body(response, what)
        if answer.get("Success") is not True:
            message = str(answer.get("Message") or "no reason given")[:200]
            raise ApiRejected(f"{what}: refused: {message}")
        return answer

    def refund(self, transaction_id: str, amount: int, currency: str) -> dict[str, Any]:
        """Give back `amount` (minor units) of a completed payment."""
        # Written by hand: the amount goes out as the exact decimal, never through a float.
        value = Decimal(amount).scaleb(-exponent(currency))
        content = f'{{"TransactionId":{int(transaction_id)},"Amount":{value}}}'
        return self._post("/payments/refund", content, f"CloudPayments refund of {transaction_id}")

    def void(self, transaction_id: str) -> dict[str, Any]:
        """Cancel a payment that is only authorized (two-stage): the hold is released."""
        content = f'{{"TransactionId":{int(transaction_id)}}}'
        return self._post("/payments/void", content, f"CloudPayments void of {transaction_id}")
