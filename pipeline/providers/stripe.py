"""Stripe webhooks: `Stripe-Signature` HMAC-SHA256 over "{t}.{raw body}", and Stripe's
payment objects as normalized payment events.

Stripe amounts are integers in the currency's smallest unit already. The order
reference is `metadata.order_id`, or a Checkout Session's `client_reference_id`.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pipeline.domain.money import integer_minor_units
from pipeline.domain.normalized import NormalizedEvent, PaymentEvent, PaymentStatus
from pipeline.events.errors import PermanentError
from pipeline.providers.base import (
    Accepted,
    BadSignature,
    InboundRequest,
    MalformedBody,
    Reply,
)
from pipeline.providers.config import ProviderSettings
from pipeline.providers.json_webhook import JsonWebhookProvider
from pipeline.providers.networks import require_source
from pipeline.providers.parsing import digits, required_header
from pipeline.settings import ENV_FILE, secret_values

SIGNATURE_HEADER = "Stripe-Signature"
MAX_TIMESTAMP_DIGITS = 12
PROVIDER = "stripe"
# The event types this module turns into payment events (routing is tested against them).
EVENT_TYPES = (
    "payment_intent.created",
    "payment_intent.processing",
    "payment_intent.requires_action",
    "payment_intent.amount_capturable_updated",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "charge.succeeded",
    "charge.captured",
    "charge.failed",
    "charge.refunded",
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
)

_INTENT_STATUSES = {
    "requires_payment_method": PaymentStatus.PENDING,
    "requires_confirmation": PaymentStatus.PENDING,
    "requires_action": PaymentStatus.PENDING,
    "processing": PaymentStatus.PENDING,
    "requires_capture": PaymentStatus.WAITING_FOR_CAPTURE,
    "succeeded": PaymentStatus.SUCCEEDED,
    "canceled": PaymentStatus.CANCELED,
}


class StripeSettings(ProviderSettings):
    model_config = SettingsConfigDict(env_prefix="STRIPE_", env_file=ENV_FILE, extra="ignore")

    # Endpoint signing secrets (whsec_...), comma-separated while rotating.
    webhook_secret: SecretStr | None = None
    tolerance_s: int = 300
    api_key: SecretStr | None = None
    api_base: str = "https://api.stripe.com"


def parse_signature_header(value: str) -> tuple[int, list[str]]:
    """`t=...,v1=...[,v1=...]` -> (timestamp, v1 signatures)."""
    timestamp: int | None = None
    signatures: list[str] = []
    for item in value.split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            # Bounded: a 400-digit number does not fit the float arithmetic of the age check.
            if not digits(val, MAX_TIMESTAMP_DIGITS):
                raise BadSignature(f"{SIGNATURE_HEADER} has no valid timestamp")
            timestamp = int(val)
        elif key == "v1":
            signatures.append(val)
    if timestamp is None:
        raise BadSignature(f"{SIGNATURE_HEADER} has no timestamp (t=)")
    if not signatures:
        raise BadSignature(f"{SIGNATURE_HEADER} has no v1 signature")
    return timestamp, signatures


def sign(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.digest(secret.encode(), signed, "sha256").hex()


class StripeProvider(JsonWebhookProvider):
    name: ClassVar[str] = PROVIDER
    methods: ClassVar[tuple[str, ...]] = ("POST",)
    verifies: ClassVar[str] = "Stripe-Signature v1 HMAC-SHA256, timestamp tolerance"

    def __init__(self, settings: StripeSettings) -> None:
        self.settings = settings

    def configured(self) -> bool:
        return bool(secret_values(self.settings.webhook_secret))

    def authenticate(self, request: InboundRequest) -> Mapping[str, str]:
        secrets = secret_values(self.settings.webhook_secret)
        require_source(request.client_ip, self.settings.source_networks(), self.name)
        header = required_header(request.headers, SIGNATURE_HEADER)
        timestamp, given = parse_signature_header(header)
        age = request.received_at.timestamp() - timestamp
        if abs(age) > self.settings.tolerance_s:
            raise BadSignature(
                f"{SIGNATURE_HEADER} timestamp is {int(age)} s away from now "
                f"(tolerance {self.settings.tolerance_s} s)"
            )
        expected = [sign(secret, timestamp, request.body) for secret in secrets]
        ok = False
        for signature in given:
            for candidate in expected:
                ok |= hmac.compare_digest(signature.encode(), candidate.encode())
        if not ok:
            raise BadSignature(f"no {SIGNATURE_HEADER} v1 signature matches")
        return {"stripe-signature": header}

    def identify(self, document: dict[str, Any]) -> tuple[str, str]:
        event_id, event_type = document.get("id"), document.get("type")
        if not isinstance(event_id, str) or not event_id:
            raise MalformedBody("Stripe event has no string 'id'")
        if not isinstance(event_type, str) or not event_type:
            raise MalformedBody("Stripe event has no string 'type'")
        return event_id, event_type

    def reply(self, accepted: Accepted) -> Reply:
        return Reply(body=b'{"received":true}')


def _int(obj: Mapping[str, Any], name: str) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    return integer_minor_units(value, f"Stripe {name}")


def _order(obj: Mapping[str, Any]) -> str | None:
    metadata = obj.get("metadata")
    order = metadata.get("order_id") if isinstance(metadata, Mapping) else None
    order = order or obj.get("client_reference_id")
    return str(order) if order else None


def _event(obj: Mapping[str, Any], status: PaymentStatus, ref: str, **amounts: Any) -> PaymentEvent:
    currency = obj.get("currency")
    if not isinstance(currency, str):
        raise PermanentError("Stripe object has no currency")
    return PaymentEvent(
        provider=PROVIDER,
        provider_payment_id=str(obj["id"]),
        order_reference=_order(obj),
        currency=currency.upper(),
        status=status,
        raw_reference=ref,
        **amounts,
    )


def normalize(event_type: str, event: Mapping[str, Any], ref: str) -> list[NormalizedEvent]:
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping) or not isinstance(obj.get("id"), str):
        raise PermanentError("Stripe event has no data.object with an id")
    test = event.get("livemode") is False
    kind = obj.get("object")
    found: PaymentEvent | None = None
    if kind == "payment_intent":
        status = _INTENT_STATUSES.get(str(obj.get("status")), PaymentStatus.PENDING)
        if event_type == "payment_intent.payment_failed":
            status = PaymentStatus.FAILED
        received = _int(obj, "amount_received")
        found = _event(obj, status, ref, amount=_int(obj, "amount"), paid_amount=received)
    elif kind == "charge":
        amount, refunded = _int(obj, "amount"), _int(obj, "amount_refunded") or 0
        status = PaymentStatus.SUCCEEDED if obj.get("paid") else PaymentStatus.PENDING
        if obj.get("status") == "failed":
            status = PaymentStatus.FAILED
        elif refunded:
            full = amount is not None and refunded >= amount
            status = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
        captured = _int(obj, "amount_captured")
        found = _event(
            obj, status, ref, amount=amount, paid_amount=captured, refunded_amount=refunded
        )
    elif kind == "checkout.session":
        paid = obj.get("payment_status") in {"paid", "no_payment_required"}
        status = PaymentStatus.SUCCEEDED if paid else PaymentStatus.PENDING
        if obj.get("status") == "expired":
            status = PaymentStatus.CANCELED
        total = _int(obj, "amount_total")
        intent = obj.get("payment_intent")
        found = _event(
            obj,
            status,
            ref,
            amount=total,
            paid_amount=total if paid else 0,
            refund_target=intent if isinstance(intent, str) and intent else None,
        )
    if found is None:
        return []
    return [replace(found, test=test)]
