"""Stripe webhooks: `Stripe-Signature` HMAC-SHA256 over "{t}.{raw body}"."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

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
    name: ClassVar[str] = "stripe"
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
