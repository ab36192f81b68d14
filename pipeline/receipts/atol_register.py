"""ATOL Online v5 as the cash register of the workers: the one ATOL client
(pipeline.providers.api.atol) with its token shared through Redis by every worker until
it expires (24 h; kept 20 h)."""

from __future__ import annotations

import httpx
import redis

from pipeline.providers.api.atol import HttpAtolApi
from pipeline.providers.atol import AtolSettings


class AtolRegister(HttpAtolApi):
    def __init__(
        self,
        redis_client: redis.Redis,
        settings: AtolSettings,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(settings, client, shared_tokens=redis_client)
