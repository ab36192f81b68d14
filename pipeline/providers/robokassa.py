"""Robokassa ResultURL notifications (GET or POST form), answered `OK{InvId}`.

`SignatureValue` is the hash (MD5 unless the shop chose another) of
`OutSum:InvId:Password2[:Shp_key=value, sorted by key]`, compared case-insensitively.
Test payments (`IsTest=1`) are signed with the test Password #2 and accepted only when
one is configured.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import urlencode

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from pipeline.domain.money import decimal_amount, minor_units
from pipeline.domain.normalized import PaymentEvent, PaymentStatus
from pipeline.events.errors import PermanentError
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
    form_fields,
    require_media_type,
    text_field,
    unique_fields,
)
from pipeline.settings import ENV_FILE, secret_values

# Published by Robokassa for ResultURL requests.
OFFICIAL_NETWORKS = ("185.59.216.65", "185.59.217.65")
FORM = "application/x-www-form-urlencoded"
EVENT_TYPES = ("result",)
HashName = Literal["md5", "sha1", "sha256", "sha384", "sha512"]


class RobokassaSettings(ProviderSettings):
    model_config = SettingsConfigDict(env_prefix="ROBOKASSA_", env_file=ENV_FILE, extra="ignore")

    merchant_login: str = ""
    # Password #2 (signs ResultURL); comma-separated while rotating.
    password2: SecretStr | None = None
    # Test Password #2: test notifications are refused unless it is set.
    test_password2: SecretStr | None = None
    # Hash algorithm chosen in the shop's technical settings.
    hash_algorithm: HashName = "md5"
    # Currency of OutSum (the shop's account currency).
    currency: str = "RUB"
    # Password #3 signs refund requests (the refund API's JWT); without it refunds are manual.
    password3: SecretStr | None = None
    # The XML interfaces (OpStateExt gives the OpKey a refund names) and the refund API.
    xml_api_base: str = "https://auth.robokassa.ru/Merchant/WebService/Service.asmx"
    refund_api_base: str = "https://services.robokassa.ru/RefundService"

    def refunds_configured(self) -> bool:
        """Refunds need the login, Password #2 (for the OpKey) and Password #3."""
        return bool(
            self.merchant_login and secret_values(self.password2) and secret_values(self.password3)
        )


def shp_fields(fields: Mapping[str, str]) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in fields.items() if k.lower().startswith("shp_"))


def signature(fields: Mapping[str, str], password: str, algorithm: str = "md5") -> str:
    parts = [fields["OutSum"], fields["InvId"], password]
    parts += [f"{key}={value}" for key, value in shp_fields(fields)]
    return hashlib.new(algorithm, ":".join(parts).encode()).hexdigest()


def is_test(fields: Mapping[str, Any]) -> bool:
    return str(fields.get("IsTest", "0")) == "1"


class RobokassaProvider:
    name: ClassVar[str] = "robokassa"
    methods: ClassVar[tuple[str, ...]] = ("GET", "POST")
    verifies: ClassVar[str] = "SignatureValue (hash with Password #2, Shp_ parameters)"

    def __init__(self, settings: RobokassaSettings) -> None:
        self.settings = settings

    def configured(self) -> bool:
        return bool(secret_values(self.settings.password2))

    def _fields(self, request: InboundRequest) -> dict[str, str]:
        if request.method == "GET":
            query = request.query
            items = query.multi_items() if hasattr(query, "multi_items") else query.items()
            fields = unique_fields(items)
            if not fields:
                raise MalformedBody("empty query: expected ResultURL parameters")
            return fields
        require_media_type(request.headers, FORM)
        return form_fields(request.body)

    def accept(self, request: InboundRequest) -> Accepted:
        if not self.configured():
            raise NotConfigured(self.name)
        require_source(
            request.client_ip, self.settings.source_networks(OFFICIAL_NETWORKS), self.name
        )
        fields = self._fields(request)
        given = fields.get("SignatureValue", "").lower()
        if not given:
            raise BadSignature("missing SignatureValue")
        out_sum, inv_id = text_field(fields, "OutSum"), text_field(fields, "InvId")
        if not digits(inv_id):
            raise MalformedBody("InvId must be a number")
        try:
            decimal_amount(out_sum)
        except ValueError as exc:
            raise MalformedBody(f"OutSum: {exc}") from None
        secret = self.settings.test_password2 if is_test(fields) else self.settings.password2
        passwords = secret_values(secret)
        if not passwords:
            raise BadSignature("test notifications are not accepted (no test Password #2)")
        ok = False
        for password in passwords:
            expected = signature(fields, password, self.settings.hash_algorithm)
            ok |= hmac.compare_digest(given.encode(), expected.encode())
        if not ok:
            raise BadSignature("SignatureValue does not match")
        stored = urlencode(fields).encode() if request.method == "GET" else None
        return Accepted(
            external_id=inv_id, event_type="result", reply_context={"InvId": inv_id}, body=stored
        )

    def reply(self, accepted: Accepted) -> Reply:
        return Reply(body=f"OK{accepted.reply_context['InvId']}".encode(), media_type="text/plain")

    def payload(self, body: bytes, headers: Mapping[str, str]) -> dict[str, object]:
        return dict(form_fields(body))


def normalize(fields: Mapping[str, Any], ref: str, currency: str = "RUB") -> PaymentEvent:
    """A ResultURL notification (a completed payment) -> PaymentEvent."""
    inv_id = fields.get("InvId")
    if not isinstance(inv_id, str) or not inv_id:
        raise PermanentError("notification has no InvId")
    try:
        amount = minor_units(fields.get("OutSum"), currency)
    except ValueError as exc:
        raise PermanentError(f"OutSum: {exc}") from None
    return PaymentEvent(
        provider=RobokassaProvider.name,
        provider_payment_id=inv_id,
        order_reference=inv_id,
        amount=amount,
        currency=currency.upper(),
        status=PaymentStatus.SUCCEEDED,
        paid_amount=amount,
        raw_reference=ref,
        test=is_test(fields),
    )
