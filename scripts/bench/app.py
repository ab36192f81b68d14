"""The receiver app with two comparison routes on the same server process.

- `POST /noop`: reads the body and answers like the receiver does; the ceiling.
- `POST /naive/stripe`: verifies like the receiver, then calls Celery's `send_task`
  inside the async route: the common way, and the floor to beat.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from fastapi import FastAPI, Request, Response

from adapters.broker.publisher import transport_options
from pipeline.messaging.queues import INGEST, TASK_INGEST, queue_name
from pipeline.providers.base import InboundRequest
from pipeline.providers.stripe import StripeProvider, StripeSettings
from pipeline.settings import get_settings
from webhooks.main import create_app


def create() -> FastAPI:
    settings = get_settings()
    app = create_app(settings)
    broker = settings.broker_url or ""
    naive = Celery("naive", broker=broker)
    naive.conf.broker_transport_options = transport_options(
        broker, timeout=2.0, visibility_timeout=3600
    )
    stripe = StripeProvider(StripeSettings())

    @app.post("/noop")
    async def noop(request: Request) -> Response:
        await request.body()
        return Response(b'{"received":true}', media_type="application/json")

    @app.post("/naive/stripe")
    async def naive_stripe(request: Request) -> Response:
        from datetime import UTC, datetime

        body = await request.body()
        accepted = stripe.accept(
            InboundRequest(
                "stripe",
                "POST",
                "/naive/stripe",
                body,
                request.headers,
                request.query_params,
                None,
                datetime.now(UTC),
            )
        )
        message: dict[str, Any] = {"provider": "stripe", "external_id": accepted.external_id}
        naive.send_task(TASK_INGEST, args=[[message]], queue=queue_name(INGEST))
        return Response(b'{"received":true}', media_type="application/json")

    return app
