"""The operator API process: `create_app(settings)` builds everything once per process."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse

from adapters.broker.task_sender import CeleryTaskSender
from api.auth.oauth import OAuthProviders
from api.console import install_console
from api.docs import OPENAPI_URL, install_docs
from api.errors import install_error_handlers
from api.live.hub import Hub
from api.middleware import RequestIdMiddleware
from api.miniapp.static import install_miniapp
from api.ratelimit import RateLimiter
from api.routes import ROUTERS
from api.runtime import ApiRuntime
from api.versioning import API_PREFIX
from pipeline import metrics
from pipeline.auth.tokens import TokenSigner
from pipeline.cache import Cache
from pipeline.deps import Deps
from pipeline.live.channel import channel_name
from pipeline.mail import Mailer, make_mailer
from pipeline.messaging.urls import redis_py_url
from pipeline.providers.settings_set import ProviderSettingsSet
from pipeline.redaction import Redactor
from pipeline.settings import Settings, get_settings
from schema.session import make_engine, make_session_factory, ping

TITLE = "Pipeline operator API"
DESCRIPTION = """
The operator API of the webhook pipeline: events, providers, orders, users, the
catalogue, broadcasts, feedback, backups, alerts and statistics.

**Authentication.** Staff log in by an e-mail code (`POST /api/v1/auth/code`, then
`POST /api/v1/auth/code/verify`) or OAuth2/OIDC and send the access token as
`Authorization: Bearer …`. Machines send an API key as `X-API-Key: pk_…`.

**Errors** are RFC 9457 `application/problem+json`; every answer carries `X-Request-ID`.
**Rate limits** answer 429 with `Retry-After`. See docs/api.md for the whole contract.
"""
TAGS = [
    {"name": "auth", "description": "Logging in and out, tokens, own sessions."},
    {"name": "staff", "description": "Staff accounts (admins)."},
    {"name": "apikeys", "description": "API keys for machines (admins)."},
    {"name": "events", "description": "The webhook inbox: list, inspect, replay, retry."},
    {"name": "providers", "description": "Webhook providers: configuration and health."},
    {"name": "orders", "description": "Orders, payments, receipts; refunds."},
    {"name": "users", "description": "Bot users: search, block, unblock."},
    {"name": "catalog", "description": "Products and their translations."},
    {"name": "broadcasts", "description": "Messages to every user: start, progress, cancel."},
    {"name": "feedback", "description": "Users' feedback threads and replies."},
    {"name": "backups", "description": "Database backups: list, start, verify."},
    {"name": "alerts", "description": "Operator alerts."},
    {"name": "stats", "description": "Counts for charts."},
    {"name": "live", "description": "The live WebSocket (/api/v1/ws)."},
    {"name": "miniapp", "description": "The buyer's Telegram Mini App (`Authorization: tma`)."},
]


def task_sender(settings: Settings) -> CeleryTaskSender | None:
    """Celery on the configured broker (its client built at the first send); None without
    one: the routes that must queue answer 503, the nudges to the workers are dropped
    with a warning (beat's sweeps catch up)."""
    return CeleryTaskSender(settings) if settings.broker_url else None


def build_runtime(
    settings: Settings,
    mailer: Mailer | None = None,
    redactor: Redactor | None = None,
    providers: ProviderSettingsSet | None = None,
) -> ApiRuntime:
    """`redactor`: the process's (`app_from_env` hands its log sinks and Sentry the same);
    the runtime's `Deps` teaches it the settings and every provider's settings.
    `providers`: the ones the process read at its start (read here when not given)."""
    if not settings.database_url:
        raise RuntimeError("the API needs DATABASE_URL (see `pipeline up` or `pipeline api`)")
    redis_url = settings.redis_url or settings.broker_url or ""
    if not redis_url.startswith(("redis://", "rediss://", "redis+socket://", "unix://")):
        raise RuntimeError("the API needs REDIS_URL (rate limits, login state)")
    secret = settings.api_jwt_secret.get_secret_value() if settings.api_jwt_secret else None
    engine = make_engine(settings.database_url, pool_size=10)
    client_url = redis_py_url(redis_url) if redis_url.startswith("redis+socket") else redis_url
    client = redis.Redis.from_url(client_url, socket_timeout=5, socket_connect_timeout=5)
    return ApiRuntime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        signer=TokenSigner(secret or "", settings.api_access_token_ttl_s),
        limiter=RateLimiter(settings, redis_url),
        mailer=mailer or make_mailer(settings),
        redis=client,
        redis_url=client_url,
        cache=Cache.of(client, settings),
        oauth=OAuthProviders.from_settings(settings, client),
        deps=Deps(
            settings,
            providers=providers or ProviderSettingsSet.from_env(),
            sender=task_sender(settings),
            redis=client,
            redactor=redactor or Redactor(),
        ),
    )


def create_app(
    settings: Settings | None = None,
    *,
    mailer: Mailer | None = None,
    freeze_gc: bool = False,
    redactor: Redactor | None = None,
    providers: ProviderSettingsSet | None = None,
) -> FastAPI:
    """`freeze_gc`: the app is its process's (see `app_from_env`), not one of many in tests.
    `redactor`, `providers`: the process's (see `build_runtime`)."""
    settings = settings or get_settings()
    runtime = build_runtime(settings, mailer, redactor, providers)

    hub = Hub(
        runtime.redis_url,
        channel_name(settings),
        queue_size=settings.api_ws_queue_size,
        flush_s=settings.api_ws_flush_s,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await hub.start()
        if freeze_gc:
            # What start-up built lives as long as the process (~360k objects): a full
            # collection walking it stalled the event loop, and every live delivery and
            # request with it, for 0.2-1.7 s on a busy 2-core host. Frozen objects are left
            # out of collections; what requests and connections allocate is still collected.
            gc.freeze()
        try:
            yield
        finally:
            await hub.stop()
            await runtime.oauth.close()
            runtime.close()

    app = FastAPI(
        title=TITLE,
        version="1",
        description=DESCRIPTION,
        openapi_url=OPENAPI_URL,
        openapi_tags=TAGS,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.hub = hub  # one Redis subscription per process for the live WebSocket
    app.state.limiter = runtime.limiter.slowapi  # where slowapi's helpers look for it
    install_error_handlers(app)
    app.add_middleware(RequestIdMiddleware)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    install_docs(app)
    install_miniapp(app)
    install_console(app, runtime)

    @app.get("/metrics", include_in_schema=False)
    def metrics_endpoint() -> Response:
        # Not under /api/: the proxy does not publish it; Prometheus scrapes the pod.
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        ping(runtime.engine)
        return JSONResponse({"status": "ok"})

    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory api.app:app_from_env`."""
    from pipeline.logging import setup_logging
    from pipeline.sentry import init_sentry

    settings = get_settings()
    providers = ProviderSettingsSet.from_env()  # once: the Redactor's are the runtime's
    redactor = Redactor(settings, *providers.all())
    # Always (as the receiver does), so that the sinks mask with the runtime's Redactor.
    setup_logging(settings, "api", redactor)
    init_sentry(settings, "api", redactor)
    return create_app(settings, freeze_gc=True, redactor=redactor, providers=providers)
