"""Webhook providers: configured or not, route, what each verifies, recent health."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.auth.principal import Principal
from api.deps import RuntimeDep, require
from api.errors import error_responses
from api.runtime import ApiRuntime
from pipeline.alerts.probes import rejections
from pipeline.providers import status

router = APIRouter(prefix="/providers", tags=["providers"])
Reader = Annotated[Principal, Depends(require("providers:read"))]


class ProviderStatus(BaseModel):
    name: str = Field(examples=["stripe"])
    route: str = Field(examples=["/webhooks/stripe"])
    methods: list[str]
    configured: bool
    verifies: str = Field(examples=["Stripe-Signature HMAC-SHA256, 5 min tolerance"])
    kinds: list[str] | None = None
    last_event_at: str | None
    events_last_hour: int
    errors_last_hour: int = Field(description="Of those, now failed or dead")
    error_rate_last_hour: float
    rejected_recently: int = Field(
        description="Rejected as unauthentic over the alert window (ALERT_SIGNATURE_WINDOW_S)"
    )


@router.get("", responses=error_responses(401, 403, 429), summary="List providers and their health")
def list_providers(_: Reader, runtime: RuntimeDep) -> list[ProviderStatus]:
    return [ProviderStatus(**row) for row in provider_health(runtime)]


def provider_health(runtime: ApiRuntime) -> list[dict[str, Any]]:
    """Every provider's configuration and recent health (cached; the console shows it too)."""

    def load() -> list[dict[str, Any]]:
        window = runtime.settings.alert_signature_window_s
        with runtime.sessions() as session:
            return status.health(
                session, list(runtime.registry()), rejections(runtime.redis, window)
            )

    found: list[dict[str, Any]] = runtime.cache.get(status.CACHE, "all", load)
    return found
