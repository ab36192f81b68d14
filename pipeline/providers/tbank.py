"""T-Bank (Tinkoff) acquiring notifications: payments and fiscalization, answered `OK`,
and normalized to payment and receipt events.

`Token` is hex SHA-256 over the root-level scalar values plus `Password`, without `Token`,
sorted by key and concatenated; booleans read `true`/`false`. Numbers are hashed as the
exact text T-Bank sent, so the body is parsed keeping number lexemes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from pipeline.domain.money import integer_minor_units
from pipeline.domain.normalized import (
    FiscalAttributes,
    NormalizedEvent,
    PaymentEvent,
    PaymentStatus,
    ReceiptEvent,
    ReceiptStatus,
)
from pipeline.providers.base import (
    Accepted,
    BadSignature,
    InboundRequest,
    MalformedBody,
    NotConfigured,
    Reply,
)
from pipeline.providers.config import ProviderSettings
from pipeline.providers.networks import require_source
from pipeline.providers.parsing import (
    digits,
    json_lexemes,
    json_object,
    require_media_type,
    text_field,
)
from pipeline.settings import ENV_FILE, secret_values

# Published by T-Bank for its notifications.
OFFICIAL_NETWORKS = (
    "91.194.226.0/23",
    "91.218.132.0/24",
    "91.218.133.0/24",
    "91.218.134.0/24",
    "91.218.135.0/24",
    "212.233.80.0/24",
    "212.233.81.0/24",
    "212.233.82.0/24",
    "212.233.83.0/24",
)
RECEIPT = "RECEIPT"
PROVIDER = "tbank"
# Acquiring terminals settle in roubles; notifications carry no currency.
CURRENCY = "RUB"

_STATUSES: dict[str, PaymentStatus] = {
    "NEW": PaymentStatus.PENDING,
    "FORM_SHOWED": PaymentStatus.PENDING,
    "AUTHORIZING": PaymentStatus.PENDING,
    "3DS_CHECKING": PaymentStatus.PENDING,
    "3DS_CHECKED": PaymentStatus.PENDING,
    "AUTHORIZED": PaymentStatus.WAITING_FOR_CAPTURE,
    "CONFIRMING": PaymentStatus.WAITING_FOR_CAPTURE,
    "REVERSING": PaymentStatus.WAITING_FOR_CAPTURE,
    "PARTIAL_REVERSED": PaymentStatus.WAITING_FOR_CAPTURE,
    "CONFIRMED": PaymentStatus.SUCCEEDED,
    "REFUNDING": PaymentStatus.SUCCEEDED,
    "PARTIAL_REFUNDED": PaymentStatus.PARTIALLY_REFUNDED,
    "REFUNDED": PaymentStatus.REFUNDED,
    "REVERSED": PaymentStatus.CANCELED,
    "CANCELED": PaymentStatus.CANCELED,
    "DEADLINE_EXPIRED": PaymentStatus.CANCELED,
    "REJECTED": PaymentStatus.FAILED,
    "AUTH_FAIL": PaymentStatus.FAILED,
}
# The receiver types notifications `payment.<Status>` and `receipt`.
EVENT_TYPES = (*(f"payment.{status}" for status in _STATUSES), "receipt")
# Statuses that can repeat for one payment with different amounts.
PARTIAL = frozenset({"PARTIAL_REFUNDED", "PARTIAL_REVERSED"})


class TBankSettings(ProviderSettings):
    model_config = SettingsConfigDict(env_prefix="TBANK_", env_file=ENV_FILE, extra="ignore")

    # `terminal:password` pairs, comma-separated; a terminal listed twice while rotating.
    terminals: SecretStr | None = None
    # The older form for one terminal: its key and its password(s), comma-separated.
    terminal_key: str = ""
    password: SecretStr | None = None
    # The acquiring API (Cancel: refunds of mismatched payments).
    api_base: str = "https://securepay.tinkoff.ru/v2"

    @model_validator(mode="after")
    def _unambiguous(self) -> TBankSettings:
        keys = [t.strip() for t in self.terminal_key.split(",") if t.strip()]
        if len(keys) > 1 and secret_values(self.password):
            raise ValueError(
                "TBANK_TERMINAL_KEY lists several terminals, so TBANK_PASSWORD cannot say "
                "which password is whose: set TBANK_TERMINALS=terminal:password,... instead"
            )
        self.pairs()  # a malformed TBANK_TERMINALS fails at start-up
        return self

    def pairs(self) -> list[tuple[str, str]]:
        """Every configured (terminal, password), TBANK_TERMINALS first."""
        found: list[tuple[str, str]] = []
        for number, entry in enumerate(secret_values(self.terminals), 1):
            terminal, sep, password = entry.partition(":")
            if not (sep and terminal.strip() and password.strip()):
                # Never echo the entry: it holds a password.
                raise ValueError(f"TBANK_TERMINALS entry {number} is not terminal:password")
            found.append((terminal.strip(), password.strip()))
        keys = [t.strip() for t in self.terminal_key.split(",") if t.strip()]
        if len(keys) == 1:
            found += [(keys[0], password) for password in secret_values(self.password)]
        return found

    def passwords_of(self, terminal: str) -> list[str]:
        return [password for key, password in self.pairs() if key == terminal]


def token_text(value: Any) -> str | None:
    """How a root-level value enters the token; None for objects, arrays and null."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return None  # dict, list, None: not part of the token


def make_token(fields: Mapping[str, Any], password: str) -> str:
    values = {k: t for k, v in fields.items() if k != "Token" and (t := token_text(v)) is not None}
    values["Password"] = password
    joined = "".join(values[key] for key in sorted(values))
    return hashlib.sha256(joined.encode()).hexdigest()


def dedup_key(fields: Mapping[str, Any]) -> tuple[str, str]:
    """(external id, event type) of a notification."""
    payment_id = text_field(fields, "PaymentId")
    status = text_field(fields, "Status").upper()
    if status == RECEIPT:
        kind = text_field(fields, "Type", required=False)
        document = text_field(fields, "FiscalDocumentNumber", required=False)
        return f"{payment_id}:{RECEIPT}:{kind}:{document}", "receipt"
    key = f"{payment_id}:{status}"
    if status in PARTIAL:
        key += f":{text_field(fields, 'Amount', required=False)}"
    return key, f"payment.{status}"


class TBankProvider:
    name: ClassVar[str] = PROVIDER
    methods: ClassVar[tuple[str, ...]] = ("POST",)
    verifies: ClassVar[str] = "Token (SHA-256 with the password of the body's TerminalKey)"

    def __init__(self, settings: TBankSettings) -> None:
        self.settings = settings

    def configured(self) -> bool:
        return bool(self.settings.pairs())

    def accept(self, request: InboundRequest) -> Accepted:
        if not self.configured():
            raise NotConfigured(self.name)
        require_source(
            request.client_ip, self.settings.source_networks(OFFICIAL_NETWORKS), self.name
        )
        require_media_type(request.headers, "application/json")
        fields = json_lexemes(request.body)
        given = fields.get("Token")
        if not isinstance(given, str) or not given:
            raise BadSignature("notification has no Token")
        # Each terminal's notifications are signed with that terminal's own password.
        passwords = self.settings.passwords_of(text_field(fields, "TerminalKey"))
        if not passwords:
            raise BadSignature("TerminalKey is not one of ours")
        ok = False
        for password in passwords:  # no early exit: timing does not tell which matched
            expected = make_token(fields, password)
            ok |= hmac.compare_digest(given.lower().encode(), expected.encode())
        if not ok:
            raise BadSignature("Token does not match")
        external_id, event_type = dedup_key(fields)
        if not digits(text_field(fields, "PaymentId")):
            raise MalformedBody("PaymentId must be a number")
        return Accepted(external_id=external_id, event_type=event_type)

    def reply(self, accepted: Accepted) -> Reply:
        return Reply(body=b"OK", media_type="text/plain")

    def payload(self, body: bytes, headers: Mapping[str, str]) -> dict[str, object]:
        return json_object(body)


def _text(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return str(value)


def _amount(fields: Mapping[str, Any]) -> int | None:
    value = fields.get("Amount")
    if value is None:
        return None
    return integer_minor_units(value, "Amount (kopecks)")


def _succeeded(fields: Mapping[str, Any]) -> bool:
    return fields.get("Success") is True and str(fields.get("ErrorCode", "0")) == "0"


def normalize_payment(fields: Mapping[str, Any], ref: str) -> PaymentEvent | None:
    status = str(fields.get("Status", "")).upper()
    normalized = _STATUSES.get(status)
    if normalized is None:
        return None
    if not _succeeded(fields) and normalized is not PaymentStatus.CANCELED:
        normalized = PaymentStatus.FAILED
    amount = _amount(fields)
    return PaymentEvent(
        provider=PROVIDER,
        provider_payment_id=_text(fields, "PaymentId") or "",
        order_reference=_text(fields, "OrderId"),
        amount=amount,
        currency=CURRENCY,
        status=normalized,
        paid_amount=amount if normalized is PaymentStatus.SUCCEEDED else None,
        raw_reference=ref,
        # A refund (Cancel) is signed with this terminal's password.
        refund_target=_text(fields, "TerminalKey"),
    )


def normalize_receipt(fields: Mapping[str, Any], ref: str) -> ReceiptEvent:
    payment_id = _text(fields, "PaymentId") or ""
    document = _text(fields, "FiscalDocumentNumber")
    ok = _succeeded(fields)
    fiscal = FiscalAttributes(
        fn_number=_text(fields, "FnNumber"),
        fiscal_document_number=document,
        fiscal_document_attribute=_text(fields, "FiscalDocumentAttribute"),
        fiscal_receipt_number=_text(fields, "FiscalNumber"),
        shift_number=_text(fields, "ShiftNumber"),
        registration_number=_text(fields, "EcrRegNumber"),
        receipt_datetime=_text(fields, "ReceiptDatetime"),
        total=_amount(fields),
    )
    return ReceiptEvent(
        provider=PROVIDER,
        receipt_id=":".join(filter(None, [payment_id, _text(fields, "Type"), document])),
        order_reference=_text(fields, "OrderId"),
        payment_reference=payment_id or None,
        status=ReceiptStatus.DONE if ok else ReceiptStatus.FAIL,
        fiscal=fiscal if ok else None,
        ofd_receipt_url=_text(fields, "Url"),
        error=None if ok else (_text(fields, "Message") or _text(fields, "ErrorMessage")),
        raw_reference=ref,
    )


def normalize(event_type: str, fields: Mapping[str, Any], ref: str) -> list[NormalizedEvent]:
    if event_type == "receipt":
        return [normalize_receipt(fields, ref)]
    payment = normalize_payment(fields, ref)
    return [payment] if payment is not None else []
