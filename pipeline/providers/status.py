"""What operators see of each provider: route, configuration, what it verifies, and how its
webhooks fared lately (shared by `pipeline providers list` and the API)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pipeline.providers import repository
from pipeline.providers.base import Provider
from pipeline.providers.unsigned import exposure

CACHE = "providers"


def route(provider: Provider) -> str:
    path = f"/webhooks/{provider.name}"
    kinds: tuple[str, ...] = getattr(provider, "kinds", ())
    return f"{path}/{{kind}}" if len(kinds) > 1 else path


def describe(provider: Provider) -> dict[str, Any]:
    try:
        configured = bool(provider.configured())
    except Exception:  # a broken plugin shows as unconfigured, not as a crash
        configured = False
    info: dict[str, Any] = {
        "name": provider.name,
        "route": route(provider),
        "methods": list(provider.methods),
        "configured": configured,
        "verifies": provider.verifies,
    }
    # Who can post: signed, guarded (allowlist / path token), open, or refused.
    exposed, note = exposure(provider)
    info["exposure"] = str(exposed)
    if note:
        info["exposure_note"] = note
    kinds = getattr(provider, "kinds", ())
    if len(kinds) > 1:
        info["kinds"] = list(kinds)
    return info


def health(
    session: Session, providers: list[Provider], rejections: dict[str, int]
) -> list[dict[str, Any]]:
    """`describe` plus last event, error rate over the last hour and recent rejections
    (signature failures counted by the receiver in Redis)."""
    recent = repository.recent_events(session, [p.name for p in providers])
    rows = []
    for provider in sorted(providers, key=lambda p: p.name):
        info = describe(provider)
        row = recent.get(provider.name)
        last_hour = row.last_hour if row else 0
        errors = row.errors_last_hour if row else 0
        info.update(
            last_event_at=row.last_event_at.isoformat() if row and row.last_event_at else None,
            events_last_hour=last_hour,
            errors_last_hour=errors,
            error_rate_last_hour=round(errors / last_hour, 4) if last_hour else 0.0,
            rejected_recently=rejections.get(provider.name, 0),
        )
        rows.append(info)
    return rows
