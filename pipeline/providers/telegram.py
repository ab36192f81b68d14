"""Telegram Bot API webhooks: updates authenticated by the secret-token header, and
payment updates as normalized payment events.

Amounts in Telegram are already integers in the currency's smallest unit (whole Stars
for XTR). The payment's own key is `telegram_payment_charge_id`: the webhook is stored
once per `update_id`, the payment once per charge id in the domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pipeline.domain.money import integer_minor_units
from pipeline.domain.normalized import NormalizedEvent, PaymentEvent, PaymentStatus
from pipeline.events.errors import PermanentError
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

PROVIDER = "telegram"
EVENT_TYPES = ("pre_checkout_query", "message.successful_payment", "message.refunded_payment")
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
    name: ClassVar[str] = PROVIDER
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


def _amount(payment: Mapping[str, Any]) -> tuple[int, str]:
    total, currency = payment.get("total_amount"), payment.get("currency")
    total = integer_minor_units(total, "Telegram total_amount")
    if not isinstance(currency, str) or len(currency) != 3:
        raise PermanentError("Telegram currency must be a three-letter code")
    return total, currency.upper()


def _charge_id(payment: Mapping[str, Any]) -> str:
    charge = payment.get("telegram_payment_charge_id")
    if not isinstance(charge, str) or not charge:
        raise PermanentError("Telegram payment has no telegram_payment_charge_id")
    return charge


def _order(payment: Mapping[str, Any]) -> str | None:
    payload = payment.get("invoice_payload")
    return payload if isinstance(payload, str) and payload else None


def normalize(event_type: str, update: Mapping[str, Any], ref: str) -> list[NormalizedEvent]:
    """pre_checkout_query, successful_payment, refunded_payment -> PaymentEvent."""
    if event_type == "pre_checkout_query":
        query = update.get("pre_checkout_query")
        if not isinstance(query, Mapping) or not isinstance(query.get("id"), str):
            raise PermanentError("pre_checkout_query has no id")
        amount, currency = _amount(query)
        return [
            PaymentEvent(
                provider=PROVIDER,
                provider_payment_id=query["id"],
                order_reference=_order(query),
                amount=amount,
                currency=currency,
                status=PaymentStatus.PENDING,
                raw_reference=ref,
            )
        ]
    message = update.get("message")
    if not isinstance(message, Mapping):
        return []
    if event_type == "message.successful_payment":
        payment = message.get("successful_payment")
        status = PaymentStatus.SUCCEEDED
    elif event_type == "message.refunded_payment":
        payment = message.get("refunded_payment")
        status = PaymentStatus.REFUNDED
    else:
        return []
    if not isinstance(payment, Mapping):
        raise PermanentError(f"{event_type} has no payment object")
    amount, currency = _amount(payment)
    refunded = status is PaymentStatus.REFUNDED
    sender = message.get("from")
    payer = sender.get("id") if isinstance(sender, Mapping) else None
    return [
        PaymentEvent(
            provider=PROVIDER,
            provider_payment_id=_charge_id(payment),
            order_reference=_order(payment),
            amount=amount,
            currency=currency,
            status=status,
            paid_amount=amount,
            refunded_amount=amount if refunded else 0,
            raw_reference=ref,
            payer_id=payer if isinstance(payer, int) and not isinstance(payer, bool) else None,
        )
    ]
