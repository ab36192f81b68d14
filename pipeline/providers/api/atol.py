"""ATOL Online v5, the one client: `POST getToken`, then `GET {group_code}/report/{uuid}`
and `POST {group_code}/sell|sell_refund`, each with the `Token` header.

The token is kept by this client (in memory), or in Redis for every worker when a Redis
client is given (`pipeline.receipts.atol_register`). A retried registration carries the
same `external_id`; ATOL answers a repeat with the existing document's uuid, which is
what makes registering idempotent.
"""

from __future__ import annotations

import threading
import time
from functools import partial
from typing import Any

import httpx
import redis

from pipeline.correlation import client_hooks
from pipeline.providers.api.http import ApiRejected, call, json_body, rejected, timeout
from pipeline.providers.atol import UUID, AtolSettings
from pipeline.providers.parsing import fully_matches
from pipeline.settings import secret_values

# Tokens live 24 h; renew well before.
TOKEN_TTL_S = 20 * 3600
TOKEN_KEY = "atol:token:{login}"  # noqa: S105 - a Redis key name, not a secret
OPERATIONS = {"sell", "sell_refund"}


class HttpAtolApi:
    def __init__(
        self,
        settings: AtolSettings,
        client: httpx.Client | None = None,
        shared_tokens: redis.Redis | None = None,
    ) -> None:
        self.settings = settings
        self.client = client or httpx.Client(
            timeout=timeout(self.settings.api_timeout_s), event_hooks=client_hooks()
        )
        self.redis = shared_tokens
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def _base(self) -> str:
        return self.settings.api_base.rstrip("/")

    def _new_token(self) -> str:
        passwords = secret_values(self.settings.password)
        if not self.settings.login or not passwords:
            raise ApiRejected("ATOL is not configured (ATOL_LOGIN, ATOL_PASSWORD)")
        last: ApiRejected | None = None
        for password in passwords:  # several while rotating
            body = {"login": self.settings.login, "pass": password}
            post = partial(self.client.post, f"{self._base()}/getToken", json=body)
            response = call(post, "ATOL getToken")
            if response.status_code >= 400:
                last = rejected(response, "ATOL getToken")
                continue
            answer = json_body(response, "ATOL getToken")
            token = answer.get("token")
            if answer.get("error") or not isinstance(token, str) or not token:
                last = ApiRejected(f"ATOL getToken refused: {answer.get('error')}")
                continue
            return token
        raise last or ApiRejected("ATOL getToken failed")

    def token(self, renew: bool = False) -> str:
        if self.redis is not None:
            return self._shared_token(self.redis, renew)
        with self._lock:
            if renew or self._token is None or self._token[1] < time.monotonic():
                self._token = (self._new_token(), time.monotonic() + TOKEN_TTL_S)
            return self._token[0]

    def _shared_token(self, client: redis.Redis, renew: bool) -> str:
        key = TOKEN_KEY.format(login=self.settings.login)
        if not renew:
            cached = client.get(key)
            if cached:
                return cached.decode() if isinstance(cached, bytes) else str(cached)
        token = self._new_token()
        client.set(key, token, ex=TOKEN_TTL_S)
        return token

    def _with_token(self, request: partial[httpx.Response], what: str) -> httpx.Response:
        """`request` with the token; an expired token is renewed once."""
        response = call(partial(request, headers={"Token": self.token()}), what)
        if response.status_code == 401:
            response = call(partial(request, headers={"Token": self.token(renew=True)}), what)
        return response

    def report(self, uuid: str) -> dict[str, Any]:
        what = f"ATOL report {uuid}"
        if not fully_matches(UUID, uuid) or not self.settings.group_code:
            raise ApiRejected(f"{what}: invalid uuid or no ATOL_GROUP_CODE")
        url = f"{self._base()}/{self.settings.group_code}/report/{uuid}"
        response = self._with_token(partial(self.client.get, url), what)
        if response.status_code != 200:
            raise rejected(response, what)
        return json_body(response, what)

    def register(self, operation: str, body: dict[str, Any]) -> str:
        """Send a receipt (`sell` or `sell_refund`); the document's uuid."""
        if operation not in OPERATIONS:
            raise ValueError(f"unsupported operation {operation}")
        if not self.settings.group_code:
            raise ApiRejected("ATOL_GROUP_CODE is not set")
        url = f"{self._base()}/{self.settings.group_code}/{operation}"
        what = f"ATOL {operation} {body.get('external_id')}"
        response = self._with_token(partial(self.client.post, url, json=body), what)
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
