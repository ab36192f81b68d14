"""Receiver metrics and the failed-signature counter, kept off the success path's I/O:
counters are in-process; a rejection (only) also bumps a Redis counter the alert job
reads, fired and forgotten so even the rejection is not delayed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Response
from loguru import logger

from pipeline import metrics
from pipeline.alerts.probes import async_client, count_rejection
from pipeline.settings import Settings

AUTH_STATUSES = frozenset({401, 403})
router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics_endpoint() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


class ProviderMeter:
    """Pre-bound metric children for one provider (no label lookup per request)."""

    def __init__(self, provider: str, rejections: RejectionCounter) -> None:
        self.provider = provider
        self.accepted = metrics.WEBHOOKS.labels(provider, "accepted")
        self.rejected = metrics.WEBHOOKS.labels(provider, "rejected")
        self.unavailable = metrics.WEBHOOKS.labels(provider, "unavailable")
        self.latency = metrics.WEBHOOK_LATENCY.labels(provider)
        self.signatures = metrics.SIGNATURE_REJECTIONS.labels(provider)
        self._rejections = rejections

    def done(self, started: float, status: int) -> None:
        self.latency.observe(time.perf_counter() - started)
        (self.accepted if status < 400 else self.rejected).inc()

    def reject(self, status: int) -> None:
        if status in AUTH_STATUSES:
            self.signatures.inc()
            self._rejections.note(self.provider)


class RejectionCounter:
    def __init__(self, settings: Settings) -> None:
        self.window_s = settings.alert_signature_window_s
        self._client: Any = None
        self._settings = settings
        self._pending: set[asyncio.Task[None]] = set()

    def note(self, provider: str) -> None:
        if self._client is None:
            self._client = async_client(self._settings) or False
        if not self._client:
            return
        task = asyncio.get_running_loop().create_task(self._count(provider))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _count(self, provider: str) -> None:
        try:
            await count_rejection(self._client, provider, self.window_s)
        except Exception as exc:  # the metric still counts it; the alert may miss it
            logger.debug("rejection not counted in Redis: {}", exc)

    async def close(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._client:
            await self._client.aclose()
