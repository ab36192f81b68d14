"""Prometheus Alertmanager notifications (webhook payload version 4).

Alertmanager routes the Prometheus rules' alerts here (`webhook_configs` with
`http_config.authorization` or `basic_auth`); the worker turns each alert into an operator
alert in the Telegram alert chat (`pipeline.alerts.prometheus`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pipeline.providers.base import (
    BadSignature,
    InboundRequest,
    MalformedBody,
)
from pipeline.providers.config import ProviderSettings
from pipeline.providers.json_webhook import JsonWebhookProvider
from pipeline.providers.networks import require_source
from pipeline.providers.parsing import matches_any, text_field
from pipeline.settings import ENV_FILE, secret_values

PAYLOAD_VERSION = "4"
STATUSES = ("firing", "resolved")


class AlertmanagerSettings(ProviderSettings):
    model_config = SettingsConfigDict(env_prefix="ALERTMANAGER_", env_file=ENV_FILE, extra="ignore")

    # Bearer token(s) Alertmanager sends (`http_config.authorization.credentials`).
    webhook_token: SecretStr | None = None
    # Or basic auth (`http_config.basic_auth`): the user name and password(s).
    webhook_username: str = "alertmanager"
    webhook_password: SecretStr | None = None
    # Prefix for relative `runbook` annotations (e.g. the docs site's URL).
    runbook_base_url: str = ""


def _basic_pair(value: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise BadSignature("Authorization: malformed basic credentials") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise BadSignature("Authorization: malformed basic credentials")
    return user, password


def _alert_identity(alert: Any, index: int) -> str:
    if not isinstance(alert, Mapping):
        raise MalformedBody(f"alerts[{index}] must be an object")
    if alert.get("status") not in STATUSES:
        raise MalformedBody(f"alerts[{index}].status must be firing or resolved")
    labels = alert.get("labels")
    if not isinstance(labels, Mapping) or not isinstance(labels.get("alertname"), str):
        raise MalformedBody(f"alerts[{index}].labels.alertname is required")
    fingerprint = alert.get("fingerprint")
    if not isinstance(fingerprint, str) or not fingerprint:
        fingerprint = label_fingerprint(labels)
    return f"{fingerprint}@{alert.get('startsAt', '')}"


def label_fingerprint(labels: Mapping[str, Any]) -> str:
    """A stable identity for an alert without Alertmanager's fingerprint."""
    text = "\x00".join(f"{k}={labels[k]}" for k in sorted(labels))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def dedup_key(notification: Mapping[str, Any]) -> str:
    """groupKey + status + every alert's fingerprint and start: a repeat of the same
    notification (repeat_interval, a retried post) is the same event; a new alert in the
    group, a resolve or a fresh firing of the same alert is a new one."""
    alerts = notification.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise MalformedBody("alerts must be a non-empty list")
    identities = sorted(_alert_identity(alert, i) for i, alert in enumerate(alerts))
    group = text_field(notification, "groupKey")
    status = text_field(notification, "status")
    digest = hashlib.sha256("\n".join([group, status, *identities]).encode()).hexdigest()
    return f"{status}:{digest[:40]}"


class AlertmanagerProvider(JsonWebhookProvider):
    name: ClassVar[str] = "alertmanager"
    methods: ClassVar[tuple[str, ...]] = ("POST",)
    verifies: ClassVar[str] = "Authorization: Bearer token or Basic auth (constant-time)"

    def __init__(self, settings: AlertmanagerSettings) -> None:
        self.settings = settings

    def configured(self) -> bool:
        token, password = self.settings.webhook_token, self.settings.webhook_password
        return bool(secret_values(token) or secret_values(password))

    def _authenticate(self, headers: Mapping[str, str]) -> None:
        header = headers.get("authorization", "")
        if not header:
            raise BadSignature("missing Authorization header")
        scheme, _, credentials = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            tokens = secret_values(self.settings.webhook_token)
            if tokens and matches_any(credentials.strip(), tokens):
                return
            raise BadSignature("bearer token does not match")
        if scheme == "basic":
            user, password = _basic_pair(credentials)
            passwords = secret_values(self.settings.webhook_password)
            # Both compared, always: no early exit on the user name.
            user_ok = matches_any(user, [self.settings.webhook_username])
            if passwords and matches_any(password, passwords) and user_ok:
                return
            raise BadSignature("basic credentials do not match")
        raise BadSignature("Authorization must be Bearer or Basic")

    def authenticate(self, request: InboundRequest) -> Mapping[str, str]:
        require_source(request.client_ip, self.settings.source_networks(), self.name)
        self._authenticate(request.headers)
        return {}

    def identify(self, notification: dict[str, Any]) -> tuple[str, str]:
        if str(notification.get("version", "")) != PAYLOAD_VERSION:
            raise MalformedBody(f"expected Alertmanager webhook payload version {PAYLOAD_VERSION}")
        status = notification.get("status")
        if status not in STATUSES:
            raise MalformedBody("status must be firing or resolved")
        return dedup_key(notification), f"alert.{status}"
