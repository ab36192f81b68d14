"""One structured call to an OpenAI-compatible chat completions endpoint.

Nothing is sent unless AI_BASE_URL is set. The answer must be JSON matching a pydantic
model (sent as a JSON schema, `response_format`); anything else is "malformed" and the
caller falls back to what works without a provider. 429, 5xx and timeouts are retried with
tenacity; every call, good or bad, is recorded (`ai_calls`, metrics) without its text.
"""

from __future__ import annotations

import json
import time
from typing import Any, TypeVar

import httpx
import redis
from loguru import logger
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from pipeline import metrics
from pipeline.ai import budget
from pipeline.alerts import raise_alert
from pipeline.settings import Settings
from schema.knowledge import AiCall

T = TypeVar("T", bound=BaseModel)
BUDGET_ALERT = "ai_budget"


class AiUnavailable(Exception):
    """No usable answer: `outcome` says why (disabled, budget, timeout, malformed, ...)."""

    def __init__(self, outcome: str, detail: str = "") -> None:
        super().__init__(f"{outcome}: {detail}" if detail else outcome)
        self.outcome = outcome


def configured(settings: Settings) -> bool:
    return bool(settings.ai_base_url)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        code = exc.response.status_code
        return code == 429 or code >= 500
    return isinstance(exc, httpx.TimeoutException | httpx.TransportError)


def _outcome(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.HTTPStatusError):
        code = exc.response.status_code
        return "rate_limited" if code == 429 else "server_error" if code >= 500 else "http_error"
    return "unreachable"


def _record(session: Session, settings: Settings, purpose: str, outcome: str, **usage: int) -> None:
    session.add(AiCall(purpose=purpose, model=settings.ai_model, outcome=outcome, **usage))
    metrics.AI_CALLS.labels(purpose, outcome).inc()
    metrics.AI_TOKENS.labels(purpose, "in").inc(usage.get("tokens_in", 0))
    metrics.AI_TOKENS.labels(purpose, "out").inc(usage.get("tokens_out", 0))
    if "latency_ms" in usage:
        metrics.AI_LATENCY.labels(purpose).observe(usage["latency_ms"] / 1000)


def _refuse_over_budget(
    session: Session, client: redis.Redis, settings: Settings, purpose: str, which: str
) -> AiUnavailable:
    _record(session, settings, purpose, "budget", attempts=0)
    if which == "global" and budget.first_exhaustion_today(client):
        raise_alert(
            session,
            BUDGET_ALERT,
            "AI daily budget spent: the assistant answers from the FAQ only and triage uses "
            "keywords until the next UTC day (AI_DAILY_CALLS / AI_DAILY_TOKENS).",
            settings=settings,
        )
    return AiUnavailable("budget", which)


def _payload(settings: Settings, system: str, user: str, output: type[BaseModel]) -> dict[str, Any]:
    return {
        "model": settings.ai_model,
        "temperature": 0,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": output.__name__.lower(),
                "strict": True,
                "schema": output.model_json_schema(),
            },
        },
    }


def complete(
    session: Session,
    client: redis.Redis,
    *,
    purpose: str,
    system: str,
    user: str,
    output: type[T],
    user_key: str | None = None,
    settings: Settings,
) -> T:
    """The provider's structured answer, or AiUnavailable. `user` must already be
    redacted: this sends it as it is."""
    if not configured(settings):
        raise AiUnavailable("disabled")
    refused = budget.take(client, settings, user_key)
    if refused is not None:
        raise _refuse_over_budget(session, client, settings, purpose, refused)
    headers = {}
    if settings.ai_api_key is not None:
        headers["Authorization"] = f"Bearer {settings.ai_api_key.get_secret_value()}"
    url = settings.ai_base_url.rstrip("/") + "/chat/completions"
    body = _payload(settings, system, user, output)
    attempts = 0
    started = time.monotonic()

    def post(http: httpx.Client) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        response = http.post(url, json=body, headers=headers)
        response.raise_for_status()
        return response

    base_s = settings.ai_retry_base_s
    retrying = Retrying(
        stop=stop_after_attempt(settings.ai_max_attempts),
        wait=wait_exponential(multiplier=base_s, max=base_s * 8),
        retry=retry_if_exception(_retryable),
        reraise=True,
    )
    try:
        with httpx.Client(timeout=settings.ai_timeout_s) as http:
            response = retrying(post, http)
    except httpx.HTTPError as exc:
        latency = int((time.monotonic() - started) * 1000)
        outcome = _outcome(exc)
        _record(session, settings, purpose, outcome, attempts=attempts, latency_ms=latency)
        logger.warning("AI call ({}) failed after {} attempt(s): {}", purpose, attempts, outcome)
        raise AiUnavailable(outcome) from exc
    latency = int((time.monotonic() - started) * 1000)
    return _parse(session, client, settings, purpose, response, output, attempts, latency)


def _parse(
    session: Session,
    client: redis.Redis,
    settings: Settings,
    purpose: str,
    response: httpx.Response,
    output: type[T],
    attempts: int,
    latency: int,
) -> T:
    usage: dict[str, int] = {"attempts": attempts, "latency_ms": latency}
    try:
        data = response.json()
        counts = data.get("usage") or {}
        usage["tokens_in"] = int(counts.get("prompt_tokens") or 0)
        usage["tokens_out"] = int(counts.get("completion_tokens") or 0)
        budget.add_tokens(client, usage["tokens_in"] + usage["tokens_out"])
        content = data["choices"][0]["message"]["content"]
        parsed = output.model_validate(json.loads(content))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, ValidationError) as exc:
        _record(session, settings, purpose, "malformed", **usage)
        raise AiUnavailable("malformed", type(exc).__name__) from exc
    _record(session, settings, purpose, "ok", **usage)
    return parsed
