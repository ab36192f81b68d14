"""Rate limits on Redis, through slowapi's Limiter (and the `limits` library under it).

Limits are checked in dependencies rather than in slowapi's middleware, because the key
of an authenticated request is its principal (one bucket per API key or staff user, not
per address), known only once the credentials were checked. Anonymous requests and the
login endpoints are keyed by client address, the code request also by e-mail.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from loguru import logger
from redis.exceptions import RedisError
from slowapi import Limiter

from api.errors import ProblemError
from pipeline.messaging.urls import redis_py_url
from pipeline.settings import Settings

UNAVAILABLE_RETRY_S = 5


def limits_storage_uri(redis_url: str) -> str:
    """redis-py / kombu URL -> the `limits` storage URI (`unix://` becomes `redis+unix://`)."""
    url = redis_py_url(redis_url) if redis_url.startswith("redis+socket://") else redis_url
    if url.startswith("unix://"):
        return "redis+unix://" + url[len("unix://") :]
    return url


@dataclass(frozen=True)
class Limits:
    authenticated: list[RateLimitItem]
    anonymous: list[RateLimitItem]
    login: list[RateLimitItem]
    login_email: list[RateLimitItem]

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            parse_many(settings.api_rate_limit),
            parse_many(settings.api_anonymous_rate_limit),
            parse_many(settings.api_login_rate_limit),
            parse_many(settings.api_login_email_rate_limit),
        )


class RateLimiter:
    def __init__(self, settings: Settings, redis_url: str) -> None:
        self.limits = Limits.from_settings(settings)
        # Pipelines sharing one Redis (QUEUE_PREFIX) count apart.
        self.prefix = f"{settings.queue_prefix}api-rl"
        self.slowapi = Limiter(
            key_func=lambda: "",  # keys are given per check, see hit()
            storage_uri=limits_storage_uri(redis_url),
            key_prefix=self.prefix,
            headers_enabled=False,
        )

    def hit(self, items: list[RateLimitItem], *key: str) -> None:
        """Count one request against every limit of the list; 429 when one is exhausted."""
        strategy = self.slowapi.limiter
        for item in items:
            try:
                allowed = strategy.hit(item, self.prefix, *key)
            except RedisError as exc:
                # Closed, not open: the login limits are what keeps codes from being guessed.
                logger.error("rate limiter unavailable: {}", exc)
                raise ProblemError(
                    503,
                    "Service Unavailable",
                    "the rate limiter cannot be reached; retry shortly",
                    headers={"Retry-After": str(UNAVAILABLE_RETRY_S)},
                ) from None
            if not allowed:
                stats = strategy.get_window_stats(item, self.prefix, *key)
                retry_after = max(1, int(stats.reset_time - time.time()) + 1)
                raise ProblemError(
                    429,
                    "Too Many Requests",
                    f"rate limit {item} exceeded; retry in {retry_after} s",
                    headers={"Retry-After": str(retry_after)},
                )
