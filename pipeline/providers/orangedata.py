"""OrangeData receipt callbacks: unsigned, so the worker re-fetches the document status.

OrangeData posts the processed document to the `callbackUrl` given with it; the body
has the shape of `GET /api/v2/documents/{inn}/status/{id}`. The receiver keys it by
INN and document id; the worker asks the API (client certificate) and acts on that.
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
from pipeline.providers.base import (
    Forbidden,
    InboundRequest,
    MalformedBody,
    NotConfigured,
)
from pipeline.providers.json_webhook import JsonWebhookProvider
from pipeline.providers.parsing import fully_matches
from pipeline.providers.unsigned import UnsignedSettings, guarded, require_guards
from pipeline.settings import ENV_FILE

INN = re.compile(r"[0-9]{10}|[0-9]{12}")  # always fullmatch (\d takes any script's digits)
# Document ids are the merchant's (1-64 characters); they are URL-quoted on re-fetch.
MAX_ID_LENGTH = 64
EVENT_TYPES = ("receipt",)


class OrangeDataSettings(UnsignedSettings):
    model_config = SettingsConfigDict(env_prefix="ORANGEDATA_", env_file=ENV_FILE, extra="ignore")

    # The seller's INN; callbacks for another INN are refused.
    inn: str = ""
    api_base: str = "https://api.orangedata.ru:12003"
    # Timeout of one API call (the re-fetch), seconds; each call is tried up to 3 times.
    api_timeout_s: float = 5.0
    # Client certificate and key (PEM files) for the API's mutual TLS.
    client_cert: str = ""
    client_key: str = ""
    client_key_password: SecretStr | None = None
    # CA bundle for the API's server certificate (empty: the system's).
    ca_cert: str = ""
    currency: str = "RUB"


class OrangeDataProvider(JsonWebhookProvider):
    name: ClassVar[str] = "orangedata"
    methods: ClassVar[tuple[str, ...]] = ("POST",)
    verifies: ClassVar[str] = "INN, allowlist or path token; document re-fetched from the API"
    refetches: ClassVar[bool] = True
    official_networks: ClassVar[tuple[str, ...]] = ()
    guard_required: ClassVar[bool] = True

    def __init__(self, settings: OrangeDataSettings) -> None:
        self.settings = settings

    def configured(self) -> bool:
        s = self.settings
        return bool(s.inn and s.client_cert and s.client_key)

    def authenticate(self, request: InboundRequest) -> Mapping[str, str]:
        if not guarded(self):  # unguarded: refused, as unknown
            raise NotConfigured(self.name)
        require_guards(self, request)
        return {}

    def identify(self, document: dict[str, Any]) -> tuple[str, str]:
        document_id = document.get("id")
        if not isinstance(document_id, str) or not 0 < len(document_id) <= MAX_ID_LENGTH:
            raise MalformedBody("OrangeData callback has no valid document 'id'")
        inn = document.get("companyINN", self.settings.inn)
        if not fully_matches(INN, inn):
            raise MalformedBody("OrangeData callback has no valid 'companyINN'")
        if inn != self.settings.inn:
            raise Forbidden(f"OrangeData callback is for another INN ({inn})")
        return f"{inn}:{document_id}", "receipt"


def _text(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return str(value)


def _total(document: Mapping[str, Any], currency: str) -> int | None:
    content = document.get("content")
    close = content.get("checkClose") if isinstance(content, Mapping) else None
    payments = close.get("payments") if isinstance(close, Mapping) else None
    if not isinstance(payments, list):
        return None
    try:
        return sum(minor_units(p.get("amount"), currency) for p in payments if isinstance(p, dict))
    except ValueError as exc:
        raise PermanentError(f"OrangeData payment amount: {exc}") from None


def normalize_document(
    document: Mapping[str, Any], document_id: str, ref: str, currency: str = "RUB"
) -> ReceiptEvent:
    """A processed document from the status API -> ReceiptEvent (done)."""
    if document.get("id") != document_id:
        raise PermanentError("OrangeData answered with another document")
    fiscal = FiscalAttributes(
        fn_number=_text(document.get("fsNumber")),
        fiscal_document_number=_text(document.get("documentNumber")),
        fiscal_document_attribute=_text(document.get("fp")),
        fiscal_receipt_number=_text(document.get("documentIndex")),
        shift_number=_text(document.get("shiftNumber")),
        registration_number=_text(document.get("deviceRN")),
        receipt_datetime=_text(document.get("processedAt")),
        total=_total(document, currency),
    )
    return ReceiptEvent(
        provider=OrangeDataProvider.name,
        receipt_id=document_id,
        order_reference=document_id,
        payment_reference=None,
        status=ReceiptStatus.DONE,
        fiscal=fiscal,
        raw_reference=ref,
    )
