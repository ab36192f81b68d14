"""ATOL Online v5 as a cash register: `sell` / `sell_refund` with a token cached in Redis.

The token is shared by every worker until it expires (24 h; kept 20 h). A retried
request carries the same `external_id`; ATOL answers a repeat with the existing
document's uuid, which is what makes registering idempotent.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import httpx
import redis

from pipeline.providers.api.atol import TOKEN_TTL_S
from pipeline.providers.api.http import ApiRejected, call, json_body, rejected, timeout
from pipeline.providers.atol import AtolSettings
from pipeline.settings import secret_values

TOKEN_KEY = "atol:token:{login}"  # noqa: S105 - a Redis key name, not a secret


class AtolRegister:
    def __init__(
        self,
        redis_client: redis.Redis,
        settings: AtolSettings | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.redis = redis_client
        self.settings = settings or AtolSettings()
        self.client = client or httpx.Client(timeout=timeout(self.settings.api_timeout_s))

    def _base(self) -> str:
        return self.settings.api_base.rstrip("/")

    def _fetch_token(self) -> str:
        passwords = secret_values(self.settings.password)
        if not self.settings.login or not passwords:
            raise ApiRejected("ATOL is not configured (ATOL_LOGIN, ATOL_PASSWORD)")
        for password in passwords:
            body = {"login": self.settings.login, "pass": password}
            post = partial(self.client.post, f"{self._base()}/getToken", json=body)
            response = call(post, "ATOL getToken")
            if response.status_code >= 400:
                continue
            token = json_body(response, "ATOL getToken").get("token")
            if isinstance(token, str) and token:
                return token
        raise ApiRejected("ATOL getToken refused every configured password")

    def token(self, renew: bool = False) -> str:
        key = TOKEN_KEY.format(login=self.settings.login)
        if not renew:
            cached = self.redis.get(key)
            if cached:
                return cached.decode() if isinstance(cached, bytes) else str(cached)
        token = self._fetch_token()
        self.redis.set(key, token, ex=TOKEN_TTL_S)
        return token

    def _post(self, operation: str, body: dict[str, Any]) -> httpx.Response:
        url = f"{self._base()}/{self.settings.group_code}/{operation}"
        what = f"ATOL {operation} {body.get('external_id')}"
        response = call(partial(self.client.post, url, json=body, headers=self._h()), what)
        if response.status_code == 401:  # expired token: renew once
            headers = {"Token": self.token(renew=True)}
            response = call(partial(self.client.post, url, json=body, headers=headers), what)
        return response

    def _h(self) -> dict[str, str]:
        return {"Token": self.token()}

    def register(self, operation: str, body: dict[str, Any]) -> str:
        """Send a receipt (`sell` or `sell_refund`); the document's uuid."""
        if operation not in {"sell", "sell_refund"}:
            raise ValueError(f"unsupported operation {operation}")
        if not self.settings.group_code:
            raise ApiRejected("ATOL_GROUP_CODE is not set")
        response = self._post(operation, body)
        what = f"ATOL {operation} {body.get('external_id')}"
        answer: dict[str, Any] = {}
        try:
            answer = dict(json_body(response, what))
        except ApiRejected:
            if response.status_code >= 400:
                raise rejected(response, what) from None
            raise
        uuid = answer.get("uuid")
        # A repeated external_id is answered with an error and the first document's uuid.
        if isinstance(uuid, str) and uuid:
            return uuid
        raise rejected(response, what)
