"""YooKassa HTTP notifications: unsigned, so the worker re-fetches the object before acting.

The receiver checks the source network (YooKassa's published networks by default; see
pipeline/providers/unsigned.py) and the notification's shape; the body is a hint. The
worker asks `GET /v3/payments/{id}` (or `/v3/refunds/{id}`) and normalizes what the API
says, on every delivery: a repeat is checked again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pipeline.domain.money import minor_units
from pipeline.domain.normalized import PaymentEvent, PaymentStatus
from pipeline.events.errors import PermanentError
from pipeline.providers.base import InboundRequest, MalformedBody
from pipeline.providers.json_webhook import JsonWebhookProvider
from pipeline.providers.parsing import fully_matches
from pipeline.providers.unsigned import UnsignedSettings, require_guards
from pipeline.settings import ENV_FILE, secret_values

# Published by YooKassa for its notifications.
OFFICIAL_NETWORKS = (
    "185.71.76.0/27",
    "185.71.77.0/27",
    "77.75.153.0/25",
    "77.75.154.128/25",
    "77.75.156.11",
    "77.75.156.35",
    "2a02:5180::/32",
)
# Object ids go into API paths: keep them to what YooKassa issues.
OBJECT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # both always fullmatch
EVENT = re.compile(r"(?=.{1,64}\Z)[a-z_]+(\.[a-z_]+)+")
ORDER_ID_KEY = "order_id"
EVENT_TYPES = (
    "payment.waiting_for_capture",
    "payment.succeeded",
    "payment.canceled",
    "refund.succeeded",
)

_STATUSES = {
    "pending": PaymentStatus.PENDING,
    "waiting_for_capture": PaymentStatus.WAITING_FOR_CAPTURE,
    "succeeded": PaymentStatus.SUCCEEDED,
    "canceled": PaymentStatus.CANCELED,
}


class YooKassaSettings(UnsignedSettings):
    model_config = SettingsConfigDict(env_prefix="YOOKASSA_", env_file=ENV_FILE, extra="ignore")

    # Only YooKassa's published networks may post (turn off for a local test setup only).
    enforce_official_networks: bool = True

    shop_id: str = ""
    # API secret key(s) for the re-fetch; comma-separated while rotating (tried in order).
    secret_key: SecretStr | None = None
    api_base: str = "https://api.yookassa.ru"
    # Timeout of one API call (the re-fetch), seconds; each call is tried up to 3 times.
    api_timeout_s: float = 5.0


class YooKassaProvider(JsonWebhookProvider):
    name: ClassVar[str] = "yookassa"
    methods: ClassVar[tuple[str, ...]] = ("POST",)
    verifies: ClassVar[str] = "official source networks, path token (optional); object re-fetched"
    refetches: ClassVar[bool] = True
    official_networks: ClassVar[tuple[str, ...]] = OFFICIAL_NETWORKS
    guard_required: ClassVar[bool] = False

    def __init__(self, settings: YooKassaSettings) -> None:
        self.settings = settings

    def configured(self) -> bool:
        return bool(self.settings.shop_id and secret_values(self.settings.secret_key))

    def authenticate(self, request: InboundRequest) -> Mapping[str, str]:
        require_guards(self, request)
        return {}

    def identify(self, notification: dict[str, Any]) -> tuple[str, str]:
        if notification.get("type") != "notification":
            raise MalformedBody("YooKassa notification must have type 'notification'")
        event = notification.get("event")
        if not isinstance(event, str) or not fully_matches(EVENT, event):
            raise MalformedBody("YooKassa notification has no valid 'event'")
        obj = notification.get("object")
        object_id = obj.get("id") if isinstance(obj, dict) else None
        if not fully_matches(OBJECT_ID, object_id):
            raise MalformedBody("YooKassa notification has no valid object.id")
        return f"{object_id}:{event}", event


def _amount(obj: Mapping[str, Any], name: str) -> tuple[int, str] | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("currency"), str):
        raise PermanentError(f"YooKassa {name} is not an amount object")
    currency = value["currency"].upper()
    try:
        return minor_units(value.get("value"), currency), currency
    except ValueError as exc:
        raise PermanentError(f"YooKassa {name}: {exc}") from None


def normalize_payment(payment: Mapping[str, Any], ref: str) -> PaymentEvent:
    """A payment object as the API returns it -> PaymentEvent."""
    payment_id, status = payment.get("id"), payment.get("status")
    if not isinstance(payment_id, str) or not isinstance(status, str) or status not in _STATUSES:
        raise PermanentError(f"not a YooKassa payment object (status {status!r})")
    amount = _amount(payment, "amount")
    if amount is None:
        raise PermanentError("YooKassa payment has no amount")
    refunded = _amount(payment, "refunded_amount")
    refunded_units = refunded[0] if refunded else 0
    normalized = _STATUSES[status]
    if normalized is PaymentStatus.SUCCEEDED and refunded_units:
        full = refunded_units >= amount[0]
        normalized = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
    metadata = payment.get("metadata")
    order = metadata.get(ORDER_ID_KEY) if isinstance(metadata, Mapping) else None
    # `paid` is also true for a hold (waiting_for_capture); only a capture is money in.
    paid = bool(payment.get("paid")) and status == "succeeded"
    return PaymentEvent(
        provider=YooKassaProvider.name,
        provider_payment_id=payment_id,
        order_reference=str(order) if order is not None else None,
        amount=amount[0],
        currency=amount[1],
        status=normalized,
        paid_amount=amount[0] if paid else 0,
        refunded_amount=refunded_units,
        raw_reference=ref,
        test=bool(payment.get("test")),
    )
