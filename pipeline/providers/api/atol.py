"""ATOL Online v5: `POST getToken`, then `GET {group_code}/report/{uuid}` with `Token`."""

from __future__ import annotations

import threading
import time
from functools import partial
from typing import Any

import httpx

from pipeline.correlation import client_hooks
from pipeline.providers.api.http import ApiRejected, call, json_body, rejected, timeout
from pipeline.providers.atol import UUID, AtolSettings
from pipeline.providers.parsing import fully_matches
from pipeline.settings import secret_values

# Tokens live 24 h; renew well before.
TOKEN_TTL_S = 20 * 3600


class HttpAtolApi:
    def __init__(
        self, settings: AtolSettings | None = None, client: httpx.Client | None = None
    ) -> None:
        self.settings = settings or AtolSettings()
        self.client = client or httpx.Client(
            timeout=timeout(self.settings.api_timeout_s), event_hooks=client_hooks()
        )
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

    def _token_value(self, renew: bool = False) -> str:
        with self._lock:
            if renew or self._token is None or self._token[1] < time.monotonic():
                self._token = (self._new_token(), time.monotonic() + TOKEN_TTL_S)
            return self._token[0]

    def report(self, uuid: str) -> dict[str, Any]:
        what = f"ATOL report {uuid}"
        if not fully_matches(UUID, uuid) or not self.settings.group_code:
            raise ApiRejected(f"{what}: invalid uuid or no ATOL_GROUP_CODE")
        url = f"{self._base()}/{self.settings.group_code}/report/{uuid}"
        response = self._report(url, self._token_value(), what)
        if response.status_code == 401:  # expired token: renew once
            response = self._report(url, self._token_value(renew=True), what)
        if response.status_code != 200:
            raise rejected(response, what)
        return json_body(response, what)

    def _report(self, url: str, token: str, what: str) -> httpx.Response:
        return call(partial(self.client.get, url, headers={"Token": token}), what)
