"""YooKassa API v3: the payment and refund objects, with HTTP Basic (shop id, key)."""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx

from pipeline.correlation import client_hooks
from pipeline.providers.api.http import ApiRejected, call, json_body, rejected, timeout
from pipeline.providers.parsing import fully_matches
from pipeline.providers.yookassa import OBJECT_ID, YooKassaSettings
from pipeline.settings import secret_values


class HttpYooKassaApi:
    def __init__(self, settings: YooKassaSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.client = client or httpx.Client(
            timeout=timeout(self.settings.api_timeout_s), event_hooks=client_hooks()
        )

    def _get(self, path: str, object_id: str, what: str) -> dict[str, Any]:
        if not fully_matches(OBJECT_ID, object_id):
            raise ApiRejected(f"{what}: invalid id {object_id!r}")
        keys = secret_values(self.settings.secret_key)
        if not self.settings.shop_id or not keys:
            raise ApiRejected("YooKassa is not configured (YOOKASSA_SHOP_ID, YOOKASSA_SECRET_KEY)")
        url = f"{self.settings.api_base.rstrip('/')}/v3/{path}/{object_id}"
        # Several keys while rotating: a 401 means "try the next one".
        for key in keys:
            auth = httpx.BasicAuth(self.settings.shop_id, key)
            response = call(partial(self.client.get, url, auth=auth), what)
            if response.status_code != 401:
                break
        if response.status_code != 200:
            raise rejected(response, what)
        return json_body(response, what)

    def get_payment(self, payment_id: str) -> dict[str, Any]:
        return self._get("payments", payment_id, f"YooKassa payment {payment_id}")

    def get_refund(self, refund_id: str) -> dict[str, Any]:
        return self._get("refunds", refund_id, f"YooKassa refund {refund_id}")

    def _post(self, path: str, body: dict[str, Any], key: str, what: str) -> dict[str, Any]:
        keys = secret_values(self.settings.secret_key)
        if not self.settings.shop_id or not keys:
            raise ApiRejected("YooKassa is not configured (YOOKASSA_SHOP_ID, YOOKASSA_SECRET_KEY)")
        url = f"{self.settings.api_base.rstrip('/')}/v3/{path}"
        # The same Idempotence-Key on every retry: YooKassa answers a repeat with the first
        # object instead of creating a second one.
        headers = {"Idempotence-Key": key}
        auth = httpx.BasicAuth(self.settings.shop_id, keys[0])
        response = call(partial(self.client.post, url, json=body, headers=headers, auth=auth), what)
        if response.status_code != 200:
            raise rejected(response, what)
        return json_body(response, what)

    def create_payment(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        return self._post("payments", body, key, f"YooKassa create payment {key}")

    def create_refund(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        return self._post("refunds", body, key, f"YooKassa refund {key}")
