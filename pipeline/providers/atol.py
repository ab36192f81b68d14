"""ATOL Online v5 receipt callbacks: unsigned, so the worker re-fetches the report.

The callback body has the shape of `GET {group_code}/report/{uuid}`; the receiver only
checks it and keys it by `uuid`. The worker asks the API with a token from `getToken`
and normalizes the report it gets back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pipeline.domain.money import minor_units
from pipeline.domain.normalized import FiscalAttributes, ReceiptEvent, ReceiptStatus
from pipeline.events.errors import PermanentError
from pipeline.providers.base import InboundRequest, MalformedBody, NotConfigured
from pipeline.providers.json_webhook import JsonWebhookProvider
from pipeline.providers.parsing import fully_matches
from pipeline.providers.unsigned import UnsignedSettings, guarded, require_guards
from pipeline.settings import ENV_FILE, secret_values

UUID = re.compile(r"[A-Za-z0-9-]{1,64}")  # always fullmatch
STATUSES = {s.value: s for s in ReceiptStatus}
EVENT_TYPES = tuple(f"receipt.{status}" for status in STATUSES)


class AtolSettings(UnsignedSettings):
    model_config = SettingsConfigDict(env_prefix="ATOL_", env_file=ENV_FILE, extra="ignore")

    login: str = ""
    # Integration password(s) for getToken; comma-separated while rotating (tried in order).
    password: SecretStr | None = None
    group_code: str = ""
    api_base: str = "https://online.atol.ru/possystem/v5"
    # Timeout of one API call (the re-fetch), seconds; each call is tried up to 3 times.
    api_timeout_s: float = 5.0
    # Receipts are in roubles.
    currency: str = "RUB"


class AtolProvider(JsonWebhookProvider):
    name: ClassVar[str] = "atol"
    methods: ClassVar[tuple[str, ...]] = ("POST",)
    verifies: ClassVar[str] = "allowlist or path token; report re-fetched from the API"
    refetches: ClassVar[bool] = True
    official_networks: ClassVar[tuple[str, ...]] = ()
    guard_required: ClassVar[bool] = True

    def __init__(self, settings: AtolSettings) -> None:
        self.settings = settings

    def configured(self) -> bool:
        s = self.settings
        return bool(s.login and s.group_code and secret_values(s.password))

    def authenticate(self, request: InboundRequest) -> Mapping[str, str]:
        if not guarded(self):  # unguarded: refused, as unknown
            raise NotConfigured(self.name)
        require_guards(self, request)
        return {}

    def identify(self, document: dict[str, Any]) -> tuple[str, str]:
        uuid = document.get("uuid")
        if not isinstance(uuid, str) or not fully_matches(UUID, uuid):
            raise MalformedBody("ATOL callback has no valid 'uuid'")
        status = document.get("status")
        if not isinstance(status, str) or status not in STATUSES:
            raise MalformedBody("ATOL callback 'status' must be wait, done or fail")
        return uuid, f"receipt.{status}"


def _text(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return str(value)


def normalize_report(report: Mapping[str, Any], ref: str, currency: str = "RUB") -> ReceiptEvent:
    """A report as the API returns it -> ReceiptEvent."""
    uuid, status = report.get("uuid"), report.get("status")
    if not isinstance(uuid, str) or not isinstance(status, str) or status not in STATUSES:
        raise PermanentError(f"not an ATOL report (status {status!r})")
    payload = report.get("payload")
    fiscal = None
    if isinstance(payload, Mapping):
        try:
            total = (
                None if payload.get("total") is None else minor_units(payload["total"], currency)
            )
        except ValueError as exc:
            raise PermanentError(f"ATOL payload.total: {exc}") from None
        fiscal = FiscalAttributes(
            fn_number=_text(payload.get("fn_number")),
            fiscal_document_number=_text(payload.get("fiscal_document_number")),
            fiscal_document_attribute=_text(payload.get("fiscal_document_attribute")),
            fiscal_receipt_number=_text(payload.get("fiscal_receipt_number")),
            shift_number=_text(payload.get("shift_number")),
            registration_number=_text(payload.get("ecr_registration_number")),
            receipt_datetime=_text(payload.get("receipt_datetime")),
            total=total,
        )
    error = report.get("error")
    error_text = None
    if isinstance(error, Mapping):
        error_text = f"{error.get('code')}: {error.get('text')}".strip()
    return ReceiptEvent(
        provider=AtolProvider.name,
        receipt_id=uuid,
        order_reference=_text(report.get("external_id")),
        payment_reference=_text(report.get("external_id")),
        status=STATUSES[status],
        fiscal=fiscal,
        ofd_receipt_url=_text(payload.get("ofd_receipt_url"))
        if isinstance(payload, Mapping)
        else None,
        error=error_text,
        raw_reference=ref,
    )
