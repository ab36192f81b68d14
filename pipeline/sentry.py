"""Sentry for receiver, workers and bot, when SENTRY_DSN is set.

Uncaught exceptions reach Sentry through the SDK's integrations (FastAPI, Celery); the
events service catches handler failures to retry them, so it reports those itself with
`capture`, tagged with the event id.
"""

from __future__ import annotations

from typing import Any

from pipeline.settings import Settings

try:  # optional until the lock file carries it: without it, Sentry is simply off
    import sentry_sdk
except ImportError:  # pragma: no cover
    sentry_sdk = None  # type: ignore[assignment]


def init_sentry(settings: Settings, role: str) -> bool:
    if settings.sentry_dsn is None or not settings.sentry_dsn.get_secret_value():
        return False
    if sentry_sdk is None:
        raise RuntimeError("SENTRY_DSN is set but sentry-sdk is not installed")
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.sentry_environment,
        server_name=None,
        traces_sample_rate=0.0,
    )  # personal data stays off (the SDK default): webhook bodies may carry it
    sentry_sdk.set_tag("role", role)
    return True


def capture(exc: BaseException, **tags: Any) -> str | None:
    """Report a handled exception with tags (event_id, provider, ...); no-op when off."""
    if sentry_sdk is None or not sentry_sdk.is_initialized():
        return None
    with sentry_sdk.new_scope() as scope:
        for key, value in tags.items():
            if value is not None:
                scope.set_tag(key, str(value))
        return sentry_sdk.capture_exception(exc)


def flush(timeout: float = 2.0) -> None:
    if sentry_sdk is not None and sentry_sdk.is_initialized():
        sentry_sdk.flush(timeout)
