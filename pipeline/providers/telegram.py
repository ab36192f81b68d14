"""Telegram Bot API webhooks: updates authenticated by the secret-token header."""

from __future__ import annotations

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
from pipeline.providers.parsing import matches_any
from pipeline.settings import ENV_FILE, secret_values

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
# Message fields that make a message a payment event of its own kind.
PAYMENT_MESSAGE_FIELDS = ("successful_payment", "refunded_payment")
# Published by Telegram for webhook requests.
OFFICIAL_NETWORKS = ("149.154.160.0/20", "91.108.4.0/22")


class TelegramWebhookSettings(ProviderSettings):
    """The webhook's source allowlist and its secret (TELEGRAM_WEBHOOK_SECRET)."""

    model_config = SettingsConfigDict(env_prefix="TELEGRAM_", env_file=ENV_FILE, extra="ignore")

    webhook_secret: SecretStr | None = None


def update_type(update: Mapping[str, object]) -> str:
    """The kind of an update: the one field besides `update_id` (payments refined)."""
    kinds = [key for key in update if key != "update_id"]
    if not kinds:
        return "unknown"
    kind = kinds[0]
    message = update.get(kind)
    if kind == "message" and isinstance(message, Mapping):
        for field in PAYMENT_MESSAGE_FIELDS:
            if field in message:
                return f"message.{field}"
    return kind


class TelegramProvider(JsonWebhookProvider):
    name: ClassVar[str] = "telegram"
    methods: ClassVar[tuple[str, ...]] = ("POST",)
    verifies: ClassVar[str] = f"{SECRET_HEADER} header (constant-time)"

    def __init__(self, settings: TelegramWebhookSettings) -> None:
        self.settings = settings

    def _secrets(self) -> list[str]:
        return secret_values(self.settings.webhook_secret)

    def configured(self) -> bool:
        return bool(self._secrets())

    def authenticate(self, request: InboundRequest) -> Mapping[str, str]:
        secrets = self._secrets()
        networks = self.settings.source_networks(OFFICIAL_NETWORKS)
        require_source(request.client_ip, networks, self.name)
        token = request.headers.get(SECRET_HEADER.lower())
        if not token:
            raise BadSignature(f"missing {SECRET_HEADER} header")
        if not matches_any(token, secrets):
            raise BadSignature(f"{SECRET_HEADER} does not match")
        return {}

    def identify(self, update: dict[str, Any]) -> tuple[str, str]:
        update_id = update.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
            raise MalformedBody("update_id must be a non-negative integer")
        return str(update_id), update_type(update)
