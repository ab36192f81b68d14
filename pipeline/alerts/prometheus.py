"""Prometheus alerts (through Alertmanager) as operator alerts in the Telegram alert chat.

Each alert of a notification is raised or resolved under its own key,
`prometheus:<alertname>:<fingerprint>`, with the same dedup, cooldown and resolve
messages as the pipeline's own alerts (`pipeline.alerts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.alerts import raise_alert, resolve_alert
from pipeline.events.errors import PermanentError
from pipeline.events.handlers import HandlerContext, handlers
from pipeline.providers.alertmanager import label_fingerprint
from schema.events import EventStatus

PREFIX = "prometheus:"


def alert_key(alert: Mapping[str, Any]) -> str:
    labels = alert.get("labels") or {}
    fingerprint = alert.get("fingerprint") or label_fingerprint(labels)
    return f"{PREFIX}{labels.get('alertname', 'unnamed')}:{fingerprint}"


def runbook_link(annotations: Mapping[str, Any], base_url: str) -> str:
    """The rule's `runbook_url` or `runbook` annotation; relative ones joined to the
    configured docs URL."""
    link = str(annotations.get("runbook_url") or annotations.get("runbook") or "")
    if link and base_url and "://" not in link:
        return f"{base_url.rstrip('/')}/{link.lstrip('/')}"
    return link


def alert_text(alert: Mapping[str, Any], base_url: str = "") -> str:
    labels: Mapping[str, Any] = alert.get("labels") or {}
    annotations: Mapping[str, Any] = alert.get("annotations") or {}
    name = labels.get("alertname", "unnamed")
    severity = labels.get("severity", "")
    summary = annotations.get("summary") or annotations.get("description") or ""
    where = ", ".join(
        f"{k}={v}" for k, v in sorted(labels.items()) if k not in {"alertname", "severity"}
    )
    lines = [f"Prometheus {name}{f' ({severity})' if severity else ''}: {summary}".rstrip(": ")]
    if where:
        lines.append(where)
    runbook = runbook_link(annotations, base_url)
    if runbook:
        lines.append(f"runbook: {runbook}")
    return "\n".join(lines)


@handlers.handles("alertmanager")
def alertmanager_notification(ctx: HandlerContext) -> EventStatus | None:
    alerts = ctx.payload.get("alerts")
    if not isinstance(alerts, list):
        raise PermanentError("Alertmanager notification has no alerts")
    base_url = ctx.deps.providers.alertmanager.runbook_base_url
    settings, redactor = ctx.deps.settings, ctx.deps.redactor
    for alert in alerts:
        if not isinstance(alert, Mapping):
            continue
        text = alert_text(alert, base_url)
        if alert.get("status") == "resolved":
            resolve_alert(ctx.session, alert_key(alert), text, settings=settings)
        else:
            raise_alert(ctx.session, alert_key(alert), text, settings=settings, redactor=redactor)
    return None
