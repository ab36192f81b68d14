"""The receiver: a FastAPI app with one route per registered provider."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from pipeline import metrics
from pipeline.messaging.batching import BatchingPublisher
from pipeline.messaging.publisher import make_sender
from pipeline.providers.base import Provider, WebhookRejected
from pipeline.providers.registry import ProviderRegistry, default_registry
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

    async def measured(request: Request, subpath: str) -> Response:
        state = request.app.state
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

    async def endpoint(request: Request) -> Response:
        return await measured(request, "")

    async def endpoint_with_kind(request: Request, kind: str) -> Response:
        return await measured(request, kind)

    path = f"/webhooks/{provider.name}"
    methods = list(provider.methods)
    app.add_api_route(path, endpoint, methods=methods, name=f"webhook_{provider.name}")
    app.add_api_route(
        f"{path}/{{kind}}",
        endpoint_with_kind,
        methods=methods,
        name=f"webhook_{provider.name}_kind",
    )


def create_app(
    settings: Settings | None = None,
    registry: ProviderRegistry | None = None,
    publisher: BatchingPublisher | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    registry = registry or default_registry()
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
    app.state.database_url = database_url
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(metrics_router)
    for provider in registry:
        _provider_routes(app, provider, rejections)
    metrics.initialize_series(registry.names(), receiver=True)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory webhooks.main:app_from_env`."""
    from pipeline.logging import setup_logging
    from pipeline.sentry import init_sentry

    settings = get_settings()
    if os.environ.get("PIPELINE_ROLE") != "receiver":
        setup_logging(settings, "receiver")
    init_sentry(settings, "receiver")
    return create_app(settings)
