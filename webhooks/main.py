"""The receiver: a FastAPI app with one route per registered provider."""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route, request_response
from starlette.types import Receive, Scope, Send

from adapters.broker.batching import BatchingPublisher
from adapters.broker.publisher import make_sender
from pipeline import metrics
from pipeline.providers.base import Provider, WebhookRejected
from pipeline.providers.registry import ProviderRegistry, build_registry
from pipeline.providers.settings_set import ProviderSettingsSet
from pipeline.redaction import HasSecrets, Redactor
from pipeline.settings import Settings, get_settings
from webhooks.errors import install_error_handlers
from webhooks.health import router as health_router
from webhooks.observe import ProviderMeter, RejectionCounter
from webhooks.observe import router as metrics_router
from webhooks.receive import NotEnqueued, receive

# Every request allocates many short-lived objects; with the default gen-0 threshold
# (700) the collector runs every few requests and its full passes over the framework's
# long-lived objects showed up as 40 ms p99 spikes under load.
GC_THRESHOLDS = (20_000, 50, 1_000)


def tune_gc() -> None:
    """Move start-up objects out of the collector's sight and collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _provider_routes(app: FastAPI, provider: Provider, rejections: RejectionCounter) -> None:
    meter = ProviderMeter(provider.name, rejections)
    allowed = ", ".join(provider.methods)

    async def endpoint(request: Request) -> Response:
        # An unconfigured provider answers exactly as a path that does not exist, whatever
        # the method: a scanner learns nothing about what this receiver accepts.
        if not provider.configured():
            raise StarletteHTTPException(404)
        if request.method not in provider.methods:
            raise StarletteHTTPException(405, headers={"allow": allowed})
        state = request.app.state
        subpath = request.path_params.get("kind", "")
        started = time.perf_counter()
        try:
            response = await receive(
                request, provider, state.publisher, state.settings, subpath, meter
            )
        except WebhookRejected as exc:
            meter.done(started, exc.status)
            raise
        except NotEnqueued:
            meter.unavailable.inc()
            raise
        meter.done(started, response.status_code)
        return response

    path = f"/webhooks/{provider.name}"
    for route_path, name in ((path, provider.name), (f"{path}/{{kind}}", f"{provider.name}_kind")):
        app.router.routes.append(Route(route_path, AnyMethod(endpoint), name=f"webhook_{name}"))


class AnyMethod:
    """An endpoint as an ASGI app, so that its route takes every method (Starlette limits
    a plain function's route to GET) and the endpoint decides between 404 and 405."""

    def __init__(self, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        self.app = request_response(endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    registry: ProviderRegistry | None = None,
    publisher: BatchingPublisher | None = None,
    redactor: Redactor | None = None,
) -> FastAPI:
    """`redactor`: the process's, which its log sinks and Sentry use (`app_from_env`);
    it learns the settings and every provider's settings the app holds."""
    settings = settings or get_settings()
    # Built once for the app (its providers read their settings here, not per request).
    registry = registry or build_registry(settings, providers=ProviderSettingsSet.from_env())
    redactor = (redactor or Redactor()).learn(settings, *_provider_settings(registry))
    if not settings.broker_url or not settings.database_url:
        raise RuntimeError("the receiver needs BROKER_URL and DATABASE_URL (see `pipeline up`)")
    broker_url, database_url = settings.broker_url, settings.database_url
    rejections = RejectionCounter(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tune_gc()
        owned = publisher is None
        app.state.publisher = publisher or BatchingPublisher(
            make_sender(broker_url, timeout=min(1.0, settings.enqueue_timeout_s)),
            max_batch=settings.publish_batch_max,
            linger_max_s=settings.publish_linger_max_s,
        )
        try:
            yield
        finally:
            await rejections.close()
            if owned:
                await app.state.publisher.close()

    app = FastAPI(title="Webhook receiver", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    app.state.registry = registry
    app.state.redactor = redactor
    app.state.database_url = database_url
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(metrics_router)
    for provider in registry:
        _provider_routes(app, provider, rejections)
    metrics.initialize_series(registry.names(), receiver=True)
    return app


def _provider_settings(registry: ProviderRegistry) -> list[HasSecrets]:
    """The settings each provider of the registry verifies with."""
    found = (getattr(provider, "settings", None) for provider in registry)
    return [s for s in found if isinstance(s, HasSecrets)]


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory webhooks.main:app_from_env`."""
    from pipeline.logging import setup_logging
    from pipeline.sentry import init_sentry

    settings = get_settings()
    providers = ProviderSettingsSet.from_env()
    redactor = Redactor(settings, *providers.all())
    # Always, also in a uvicorn worker process: loguru's default handler there would print
    # variable values (secrets among them) in tracebacks.
    setup_logging(settings, "receiver", redactor)
    init_sentry(settings, "receiver", redactor)
    registry = build_registry(settings, providers=providers)
    return create_app(settings, registry, redactor=redactor)
