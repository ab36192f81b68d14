"""What one API process holds for all its requests, built once by `create_app` and kept
on `app.state.runtime`: settings, the core's dependencies, the database engine, the token
signer, the rate limiter, the mailer, Redis, the OAuth providers, and (built on first
use) the provider registry.

Every task the API sends (replay, bulk retry, backups, the notification sender's nudge)
goes through `deps.sender`, the core's task port: Celery on BROKER_URL, or None when no
broker is configured (routes that must queue then answer 503; `api.routes.queueing`).
It is closed with the runtime."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from adapters.broker.task_sender import CeleryTaskSender
from api.ratelimit import RateLimiter
from pipeline.auth.tokens import TokenSigner
from pipeline.cache import Cache
from pipeline.deps import Deps
from pipeline.mail import Mailer
from pipeline.providers.registry import ProviderRegistry, build_registry
from pipeline.settings import Settings

if TYPE_CHECKING:
    from api.auth.oauth import OAuthProviders
    from api.auth.principal import Principal

# Resolves a caller from something other than the Authorization/X-API-Key headers (the
# console's session cookie); None when the connection carries no such credential.
ExtraAuth = Callable[["ApiRuntime", HTTPConnection], "Principal | None"]


@dataclass
class ApiRuntime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    signer: TokenSigner
    limiter: RateLimiter
    mailer: Mailer
    redis: redis.Redis
    oauth: OAuthProviders
    cache: Cache
    deps: Deps
    redis_url: str = ""  # what `redis` connects to (the live hub opens its own)
    extra_auth: list[ExtraAuth] = field(default_factory=list)
    _registry: ProviderRegistry | None = field(default=None, repr=False)

    def registry(self) -> ProviderRegistry:
        """The providers (what the console and /providers list), built once."""
        if self._registry is None:
            self._registry = build_registry(self.settings, providers=self.deps.providers)
        return self._registry

    def close(self) -> None:
        self.engine.dispose()
        self.redis.close()
        if isinstance(self.deps.sender, CeleryTaskSender):  # the one build_runtime made
            self.deps.sender.close()
