"""Sentry for receiver, workers and bot, when SENTRY_DSN is set.

Uncaught exceptions reach Sentry through the SDK's integrations (FastAPI, Celery); the
events service catches handler failures to retry them, so it reports those itself with
`capture`, tagged with the event id. What leaves for Sentry is masked by the process's
`Redactor` (the one its log sinks use).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from pipeline.redaction import Redactor
from pipeline.settings import Settings

if TYPE_CHECKING:
    from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint

try:  # optional until the lock file carries it: without it, Sentry is simply off
    import sentry_sdk
except ImportError:  # pragma: no cover
    sentry_sdk = None  # type: ignore[assignment]


def init_sentry(
    settings: Settings, role: str, redactor: Redactor, *, transport: Any = None
) -> bool:
    """Start Sentry when SENTRY_DSN is set, its events masked by `redactor` (the
    process's); `transport` replaces the HTTP one (tests)."""
    if settings.sentry_dsn is None or not settings.sentry_dsn.get_secret_value():
        return False
    if sentry_sdk is None:
        raise RuntimeError("SENTRY_DSN is set but sentry-sdk is not installed")
    scrubber = Scrubber(redactor)
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.sentry_environment,
        server_name=None,
        traces_sample_rate=0.0,
        # Webhook bodies carry personal data and signed values; frames hold secrets.
        max_request_body_size="never",
        include_local_variables=False,
        before_send=scrubber.event,
        before_breadcrumb=scrubber.breadcrumb,
        transport=transport,
        **_no_personal_data(),
    )
    sentry_sdk.set_tag("role", role)
    return True


# Keys (header names, form and JSON fields, extras) whose values never leave the process:
# Stripe-Signature, X-Telegram-Bot-Api-Secret-Token, (X-)Content-HMAC, Authorization,
# Cookie, T-Bank Token/Password, Robokassa SignatureValue, API keys.
SENSITIVE_KEY = re.compile(
    r"signature|secret|token|password|passwd|hmac|authorization|cookie|api[-_]?key|dsn",
    re.IGNORECASE,
)
SENSITIVE_QUERY = re.compile(
    r"((?:^|&)[^=&]*(?:signature|secret|token|password|hmac)[^=&]*=)[^&]*", re.IGNORECASE
)
FILTERED = "[Filtered]"
# Dropped wherever they appear: frame variables. Dropped from `request`: the body,
# cookies and the server's environment.
FRAME_VARIABLES = "vars"
REQUEST_DROPPED = frozenset({"data", "cookies", "env"})


class Scrubber:
    """Sentry's `before_send` and `before_breadcrumb` for one process: secret headers and
    fields filtered by name, frame variables and request bodies dropped, the secrets its
    Redactor knows (and secrets of known shapes) masked anywhere."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def event(self, event: Event, hint: Hint | None = None) -> Event:
        return cast("Event", self._scrub(event))

    def breadcrumb(self, crumb: Breadcrumb, hint: BreadcrumbHint | None = None) -> Breadcrumb:
        """The same for a breadcrumb (a log line, an HTTP call)."""
        return cast("Breadcrumb", self._scrub(crumb))

    def _scrub(self, value: Any, key: str = "") -> Any:
        if isinstance(value, str):
            if key == "query_string":
                value = SENSITIVE_QUERY.sub(rf"\1{FILTERED}", value)
            return self.redactor.redact(value)
        if isinstance(value, dict):
            dropped = REQUEST_DROPPED if key == "request" else frozenset()
            return {
                k: FILTERED if isinstance(k, str) and SENSITIVE_KEY.search(k) else self._scrub(v, k)
                for k, v in value.items()
                if k != FRAME_VARIABLES and k not in dropped
            }
        if isinstance(value, list | tuple):
            if key == "headers":  # headers as (name, value) pairs
                return [self._scrub_pair(v) for v in value]
            return [self._scrub(v, key) for v in value]
        return value

    def _scrub_pair(self, pair: Any) -> Any:
        if isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[0], str):
            name = pair[0]
            return [name, FILTERED if SENSITIVE_KEY.search(name) else self._scrub(pair[1])]
        return self._scrub(pair)


def _no_personal_data() -> dict[str, Any]:
    """No user data, cookies, bodies or frame variables: `data_collection` where the SDK
    has it (it deprecates `send_default_pii`), else `send_default_pii=False`."""
    if "data_collection" not in sentry_sdk.consts.DEFAULT_OPTIONS:
        return {"send_default_pii": False}
    collection = {
        "user_info": False,
        "cookies": {"mode": "off"},
        "http_bodies": [],
        "stack_frame_variables": False,
        "database_query_data": False,
        "queues": False,  # task arguments: envelopes with raw webhook bodies
    }
    return {"data_collection": collection}


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
