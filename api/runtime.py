"""What one API process holds for all its requests, built once by `create_app` and kept
on `app.state.runtime`: settings, the database engine, the token signer, the rate
limiter, the mailer, Redis and the OAuth providers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from api.ratelimit import RateLimiter
from pipeline.auth.tokens import TokenSigner
from pipeline.cache import Cache
from pipeline.mail import Mailer
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
    redis_url: str = ""  # what `redis` connects to (the live hub opens its own)
    extra_auth: list[ExtraAuth] = field(default_factory=list)

    def close(self) -> None:
        self.engine.dispose()
        self.redis.close()
