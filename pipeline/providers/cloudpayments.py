"""CloudPayments notifications (check, pay, fail, confirm, refund, cancel, recurrent,
receipt) at /webhooks/cloudpayments/{kind}, signed with the site's API secret.

`Content-HMAC` is base64 HMAC-SHA256 of the raw body; `X-Content-HMAC` the same over the
URL-decoded body. When `Content-HMAC` is present it alone decides; `X-Content-HMAC` alone
is refused unless `CLOUDPAYMENTS_ALLOW_X_CONTENT_HMAC_ONLY` is set: a signature over the
decoded body also matches other raw bodies (`%26` decodes to a field separator).
Bodies are form-encoded by default, JSON when so configured. Every notification must
agree with its kind and is answered `{"code":0}`; a Check may be declined with its
documented codes. The worker normalizes them to payment and receipt events.

The HMAC covers the body, not the URL: without the kind rules a signed Fail notification
posted to `/pay` would read as a payment. Each kind's body carries what only that kind
has (CloudPayments' notification reference): a Pay a success status, a Fail a reason,
a Refund the refunded payment's transaction id.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import unquote_to_bytes

import orjson
import redis
from loguru import logger
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pipeline.domain.money import decimal_amount, minor_units
from pipeline.domain.normalized import (
    FiscalAttributes,
    NormalizedEvent,
    PaymentEvent,
    PaymentStatus,
    ReceiptEvent,
    ReceiptStatus,
)
from pipeline.events.errors import PermanentError
from pipeline.payments import order_rules, snapshots
from pipeline.providers.base import (
    Accepted,
    BadSignature,
    InboundRequest,
    MalformedBody,
    NotConfigured,
    Reply,
    WebhookRejected,
)
from pipeline.providers.config import ProviderSettings
from pipeline.providers.networks import require_source
from pipeline.providers.parsing import (
    digits,
    form_fields,
    json_object,
    media_type,
    require_media_type,
    text_field,
)
from pipeline.settings import ENV_FILE, Settings, secret_values

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
HMAC_HEADERS = ("content-hmac", "x-content-hmac")
OrderLookup = Callable[[str], snapshots.OrderSnapshot | None]
PAYMENT_KINDS = ("check", "pay", "fail", "confirm", "refund", "cancel")
# Event types are the notification kinds (the path segment after the provider).
EVENT_TYPES = (*sorted(PAYMENT_KINDS), "receipt")
RECEIPT_EVENT_TYPES = ("receipt",)
AUTHORIZED = "Authorized"
PAY_STATUSES = frozenset({"Completed", AUTHORIZED})
CONFIRM_STATUSES = frozenset({"Completed"})


class CheckCode(enum.IntEnum):
    """Answers to a Check notification, as CloudPayments documents them."""

    OK = 0
    WRONG_INVOICE_ID = 10
    WRONG_ACCOUNT_ID = 11
    WRONG_AMOUNT = 12
    NOT_ACCEPTED = 13
    EXPIRED = 20


class CheckDeclined(WebhookRejected):
    """A verified Check the receiver declines: answered 200 with the code, not enqueued."""

    def __init__(self, code: CheckCode, detail: str) -> None:
        super().__init__(200, detail, reason="declined")
        self.code = code


# What CloudPayments and CloudKassir notifications share (each with its own prefix).
class CloudNotificationSettings(ProviderSettings):
    # API secret(s) of the site (the HMAC key); comma-separated while rotating.
    api_secret: SecretStr | None = None
    # Check answers 10 / 11 when these are missing (orders always carry them).
    require_invoice_id: bool = False
    require_account_id: bool = False
    # Currencies a Check accepts (comma-separated; empty: any). Others answer 13.
    currencies: str = ""
    # Currency of notifications that do not state one (Refund, Cancel).
    default_currency: str = "RUB"
    # Accept a notification signed only with X-Content-HMAC (over the URL-decoded body).
    allow_x_content_hmac_only: bool = False


class CloudPaymentsSettings(CloudNotificationSettings):
    model_config = SettingsConfigDict(
        env_prefix="CLOUDPAYMENTS_", env_file=ENV_FILE, extra="ignore"
    )

    # The site's Public ID: with the API secret, the Basic auth of the refund API.
    public_id: str = ""
    api_base: str = "https://api.cloudpayments.ru"


def sign(secret: str, data: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), data, hashlib.sha256).digest()).decode()


def _decoded_variants(body: bytes) -> list[bytes]:
    # "URL-decoded": with and without '+' read as a space, whichever the sender used.
    return [unquote_to_bytes(body.replace(b"+", b" ")), unquote_to_bytes(body)]


def verify_hmac(
    body: bytes, headers: Mapping[str, str], secrets: list[str], *, allow_decoded: bool = False
) -> None:
    """Content-HMAC over the raw body when present; X-Content-HMAC only if allowed."""
    raw_mac = headers.get("content-hmac", "").strip()
    decoded_mac = headers.get("x-content-hmac", "").strip()
    if raw_mac:
        given, signed = raw_mac, [body]
    elif decoded_mac and allow_decoded:
        given, signed = decoded_mac, _decoded_variants(body)
    elif decoded_mac:
        raise BadSignature("Content-HMAC is required (X-Content-HMAC alone is not accepted)")
    else:
        raise BadSignature("missing Content-HMAC header")
    ok = False
    for secret in secrets:  # no early exit: timing does not reveal which secret matched
        for data in signed:
            ok |= hmac.compare_digest(given.encode(), sign(secret, data).encode())
    if not ok:
        raise BadSignature("Content-HMAC does not match the body")


def parse_body(body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """Form-encoded or JSON notification -> fields."""
    if media_type(headers) == JSON:
        return json_object(body)
    return dict(form_fields(body))


def dedup_key(kind: str, fields: Mapping[str, Any]) -> str:
    if kind == "recurrent":
        parts = [text_field(fields, "Id"), text_field(fields, "Status")]
        parts += [text_field(fields, n, required=False) for n in _RECURRENT_COUNTERS]
        return "recurrent:" + ":".join(parts)
    if kind == "receipt":
        return f"receipt:{text_field(fields, 'Id')}"
    transaction = text_field(fields, "TransactionId")
    if not digits(transaction):
        raise MalformedBody("TransactionId must be a number")
    return f"{kind}:{transaction}"


_RECURRENT_COUNTERS = ("SuccessfulTransactionsNumber", "FailedTransactionsNumber")


def _field(fields: Mapping[str, Any], name: str) -> str:
    return text_field(fields, name, required=False)


def _refuse(kind: str, why: str) -> MalformedBody:
    return MalformedBody(f"not a {kind} notification: {why}")


def require_kind_matches(kind: str, fields: Mapping[str, Any]) -> None:
    """400 unless the signed body is a notification of `kind`."""
    status = _field(fields, "Status")
    if kind == "pay" and status not in PAY_STATUSES:
        raise _refuse(kind, f"Status {status or 'missing'}, expected Completed or Authorized")
    if kind == "confirm" and status not in CONFIRM_STATUSES:
        raise _refuse(kind, f"Status {status or 'missing'}, expected Completed")
    if kind == "fail":
        if not (_field(fields, "Reason") or _field(fields, "ReasonCode")):
            raise _refuse(kind, "no Reason / ReasonCode")
        if status in PAY_STATUSES:
            raise _refuse(kind, f"Status {status} is a success")
    if kind == "refund":
        if not _field(fields, "PaymentTransactionId").isdigit():
            raise _refuse(kind, "no PaymentTransactionId")
        if _field(fields, "OperationType") not in {"", "Refund"}:
            raise _refuse(kind, "OperationType is not Refund")
    if kind == "cancel" and (status or _field(fields, "OperationType")):
        # Documented Cancel bodies carry neither: a Check, Pay or Fail body does.
        raise _refuse(kind, "a Status or OperationType belongs to another kind")


class CloudNotifications:
    """Shared by CloudPayments and CloudKassir: one HMAC scheme, one answer format."""

    name: ClassVar[str]
    methods: ClassVar[tuple[str, ...]] = ("POST",)
    verifies: ClassVar[str] = "Content-HMAC (HMAC-SHA256, API secret); kind matches the body"
    kinds: ClassVar[tuple[str, ...]]
    default_kind: ClassVar[str] = ""
    settings: CloudNotificationSettings
    orders: OrderLookup
    shop: Settings  # the process's: its order rules for the Check

    def _secrets(self) -> list[str]:
        return secret_values(self.settings.api_secret)

    def configured(self) -> bool:
        return bool(self._secrets())

    def accept(self, request: InboundRequest) -> Accepted:
        secrets = self._secrets()
        if not secrets:
            raise NotConfigured(self.name)
        require_source(request.client_ip, self.settings.source_networks(), self.name)
        kind = (request.subpath or self.default_kind).lower()
        if kind not in self.kinds:
            raise WebhookRejected(
                404, f"unknown notification kind {kind!r}; known: {', '.join(self.kinds)}"
            )
        allow_decoded = self.settings.allow_x_content_hmac_only
        verify_hmac(request.body, request.headers, secrets, allow_decoded=allow_decoded)
        require_media_type(request.headers, FORM, JSON)
        fields = parse_body(request.body, request.headers)
        require_kind_matches(kind, fields)
        external_id = dedup_key(kind, fields)
        if kind == "check":
            self._check(fields)
        kept = {"content-type": request.headers.get("content-type", "")}
        return Accepted(external_id=external_id, event_type=kind, headers=kept)

    def _check(self, fields: Mapping[str, Any]) -> None:
        """Decline what cannot be paid: the shape first, then the order it names."""
        try:
            amount = decimal_amount(text_field(fields, "Amount"))
        except ValueError as exc:
            raise CheckDeclined(CheckCode.WRONG_AMOUNT, f"Amount: {exc}") from None
        if amount <= 0:
            raise CheckDeclined(CheckCode.WRONG_AMOUNT, "Amount must be positive")
        s = self.settings
        if s.require_invoice_id and not text_field(fields, "InvoiceId", required=False):
            raise CheckDeclined(CheckCode.WRONG_INVOICE_ID, "InvoiceId is required")
        if s.require_account_id and not text_field(fields, "AccountId", required=False):
            raise CheckDeclined(CheckCode.WRONG_ACCOUNT_ID, "AccountId is required")
        allowed = {c.strip().upper() for c in s.currencies.split(",") if c.strip()}
        currency = text_field(fields, "Currency", required=False).upper()
        if allowed and currency not in allowed:
            raise CheckDeclined(CheckCode.NOT_ACCEPTED, f"currency {currency or '?'} not accepted")
        invoice = text_field(fields, "InvoiceId", required=False)
        if invoice:
            self._check_order(invoice, text_field(fields, "Amount"), currency, _is_test(fields))

    def _check_order(self, invoice: str, amount: str, currency: str, test: bool) -> None:
        """The money rules the worker applies to the payment, answered before it is made,
        from the order's snapshot (pipeline.payments.snapshots; no database here)."""
        try:
            order = self.orders(invoice)
        except (RuntimeError, redis.RedisError) as exc:
            logger.warning("CloudPayments Check: orders cannot be looked up: {}", exc)
            raise CheckDeclined(CheckCode.NOT_ACCEPTED, "orders cannot be looked up now") from None
        if order is None:
            raise CheckDeclined(CheckCode.WRONG_INVOICE_ID, f"no order {invoice}")
        if not order_rules.allows(order.payment_method, self.name):
            raise CheckDeclined(CheckCode.NOT_ACCEPTED, f"order {invoice} is not paid this way")
        if order.status not in order_rules.OPEN:
            raise CheckDeclined(CheckCode.NOT_ACCEPTED, f"order {invoice} is {order.status}")
        if order_rules.expired(order.created, hours=self.shop.order_pay_within_h):
            raise CheckDeclined(CheckCode.EXPIRED, f"order {invoice} was not paid in time")
        currency = currency or self.settings.default_currency.upper()
        if currency != order.currency:
            raise CheckDeclined(CheckCode.WRONG_AMOUNT, f"order {invoice} is in {order.currency}")
        try:
            minor = minor_units(amount, currency)
        except ValueError as exc:
            raise CheckDeclined(CheckCode.WRONG_AMOUNT, str(exc)) from None
        if minor < order.amount_minor:
            raise CheckDeclined(CheckCode.WRONG_AMOUNT, f"less than order {invoice} costs")
        if test and not self.shop.allow_test_payments:
            raise CheckDeclined(CheckCode.NOT_ACCEPTED, "test payments are not accepted")

    def reply(self, accepted: Accepted) -> Reply:
        return Reply(body=b'{"code":0}')

    def rejection(self, request: InboundRequest, error: WebhookRejected) -> Reply:
        code = error.code if isinstance(error, CheckDeclined) else CheckCode.NOT_ACCEPTED
        body = {"code": int(code), "error": error.reason, "detail": error.detail}
        return Reply(status=error.status, body=orjson.dumps(body))

    def payload(self, body: bytes, headers: Mapping[str, str]) -> dict[str, object]:
        return parse_body(body, headers)


class CloudPaymentsProvider(CloudNotifications):
    name: ClassVar[str] = "cloudpayments"
    kinds: ClassVar[tuple[str, ...]] = (*PAYMENT_KINDS, "recurrent", "receipt")
    # The registry passes the process's settings (ORDER_PAY_WITHIN_H, ALLOW_TEST_PAYMENTS,
    # REDIS_URL for the snapshots) as `process_settings`.
    uses_process_settings: ClassVar[bool] = True

    def __init__(
        self,
        settings: CloudPaymentsSettings,
        orders: OrderLookup | None = None,
        *,
        process_settings: Settings,
    ) -> None:
        self.settings = settings
        self.shop = process_settings
        self.orders = orders or snapshots.SnapshotReader(process_settings)


def _text(fields: Mapping[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return str(value)


def _required(fields: Mapping[str, Any], name: str) -> str:
    value = _text(fields, name)
    if value is None:
        raise PermanentError(f"notification has no {name}")
    return value


def _is_test(fields: Mapping[str, Any]) -> bool:
    return str(fields.get("TestMode", "0")).lower() in {"1", "true"}


def _units(fields: Mapping[str, Any], currency: str) -> int:
    try:
        return minor_units(_required(fields, "Amount"), currency)
    except ValueError as exc:
        raise PermanentError(f"Amount: {exc}") from None


def normalize_payment(
    kind: str, fields: Mapping[str, Any], provider: str, ref: str, default_currency: str
) -> PaymentEvent | None:
    """check, pay, fail, confirm, refund, cancel -> PaymentEvent; other kinds -> None."""
    if kind not in PAYMENT_KINDS:
        return None  # recurrent: a subscription's state, not a payment
    currency = (_text(fields, "Currency") or default_currency).upper()
    amount = _units(fields, currency) if kind in {"check", "pay", "fail", "confirm"} else None
    common: dict[str, Any] = {
        "provider": provider,
        "order_reference": _text(fields, "InvoiceId"),
        "currency": currency,
        "raw_reference": ref,
        "test": _is_test(fields),
    }
    transaction = _required(fields, "TransactionId")
    if kind == "check":
        return PaymentEvent(
            provider_payment_id=transaction, amount=amount, status=PaymentStatus.PENDING, **common
        )
    if kind in {"pay", "confirm"}:
        held = kind == "pay" and _text(fields, "Status") == AUTHORIZED
        status = PaymentStatus.WAITING_FOR_CAPTURE if held else PaymentStatus.SUCCEEDED
        paid = 0 if held else amount
        return PaymentEvent(
            provider_payment_id=transaction,
            amount=amount,
            status=status,
            paid_amount=paid,
            **common,
        )
    if kind == "fail":
        return PaymentEvent(
            provider_payment_id=transaction, amount=amount, status=PaymentStatus.FAILED, **common
        )
    if kind == "cancel":
        voided = _units(fields, currency) if _text(fields, "Amount") else None
        return PaymentEvent(
            provider_payment_id=transaction, amount=voided, status=PaymentStatus.CANCELED, **common
        )
    # A Refund states this refund's amount, not the payment's totals.
    return PaymentEvent(
        provider_payment_id=_required(fields, "PaymentTransactionId"),
        amount=None,
        status=PaymentStatus.REFUNDED,
        refund_amount=_units(fields, currency),
        **common,
    )


def normalize_receipt(fields: Mapping[str, Any], provider: str, ref: str) -> ReceiptEvent:
    """A Receipt notification (a registered receipt) -> ReceiptEvent (done)."""
    fiscal = FiscalAttributes(
        fn_number=_text(fields, "FiscalNumber"),
        fiscal_document_number=_text(fields, "DocumentNumber"),
        fiscal_document_attribute=_text(fields, "FiscalSign"),
        fiscal_receipt_number=_text(fields, "Number"),
        shift_number=_text(fields, "SessionNumber"),
        registration_number=_text(fields, "RegNumber"),
        receipt_datetime=_text(fields, "DateTime"),
        total=_units(fields, "RUB") if _text(fields, "Amount") else None,
    )
    return ReceiptEvent(
        provider=provider,
        receipt_id=_required(fields, "Id"),
        order_reference=_text(fields, "InvoiceId"),
        payment_reference=_text(fields, "TransactionId"),
        status=ReceiptStatus.DONE,
        fiscal=fiscal,
        ofd_receipt_url=_text(fields, "Url"),
        raw_reference=ref,
    )


def normalize(
    kind: str, fields: Mapping[str, Any], provider: str, ref: str, default_currency: str
) -> list[NormalizedEvent]:
    if kind == "receipt":
        return [normalize_receipt(fields, provider, ref)]
    payment = normalize_payment(kind, fields, provider, ref, default_currency)
    return [payment] if payment is not None else []
