"""Robokassa refund API: the operation's OpKey from the XML interface `OpStateExt`
(signed with Password #2), then `Refund/Create` with a JWT (HS256) signed with
Password #3. The refund itself is asynchronous: its request id is kept, and the payment
changes when Robokassa's state (or the operator) says so."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from decimal import Decimal
from functools import partial
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import OctKey

from pipeline.correlation import client_hooks
from pipeline.domain.money import exponent
from pipeline.providers.api.http import ApiRejected, call, json_body, rejected, timeout
from pipeline.providers.robokassa import RobokassaSettings
from pipeline.settings import secret_values


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_fields(text: str, what: str) -> dict[str, str]:
    """Second-level elements of an XML answer by local path (`Result/Code`, `Info/OpKey`):
    the answer is namespaced, and `Code` appears under both Result and State."""
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ApiRejected(f"{what}: the answer declares entities")
    try:
        root = ET.fromstring(text)  # noqa: S314 (no DTD: checked above)
    except ET.ParseError:
        raise ApiRejected(f"{what}: the answer is not XML") from None
    return {
        f"{_local(parent.tag)}/{_local(node.tag)}": (node.text or "").strip()
        for parent in root
        for node in parent
    }


class HttpRobokassaApi:
    def __init__(self, settings: RobokassaSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.client = client or httpx.Client(timeout=timeout(5.0), event_hooks=client_hooks())

    def configured(self) -> bool:
        return self.settings.refunds_configured()

    def op_key(self, invoice_id: str) -> str:
        """The OpKey of the invoice's operation (what a refund names)."""
        login = self.settings.merchant_login
        password = secret_values(self.settings.password2)[0]
        text = f"{login}:{invoice_id}:{password}"
        digest = hashlib.new(self.settings.hash_algorithm, text.encode()).hexdigest()
        what = f"Robokassa OpStateExt of {invoice_id}"
        url = f"{self.settings.xml_api_base.rstrip('/')}/OpStateExt"
        params = {"MerchantLogin": login, "InvoiceID": invoice_id, "Signature": digest}
        response = call(partial(self.client.get, url, params=params), what)
        if response.status_code != 200:
            raise rejected(response, what)
        fields = _xml_fields(response.text, what)
        code = fields.get("Result/Code")
        if code != "0":
            reason = fields.get("Result/Description", "")[:200]
            raise ApiRejected(f"{what}: refused (Code {code}) {reason}".strip())
        op_key = fields.get("Info/OpKey")
        if not op_key:
            raise ApiRejected(f"{what}: the answer has no OpKey")
        return op_key

    def refund(self, invoice_id: str, amount: int, currency: str) -> dict[str, Any]:
        """Ask Robokassa to give back `amount` (minor units); the answer names the request."""
        if not self.configured():
            raise ApiRejected(
                "Robokassa refunds need ROBOKASSA_MERCHANT_LOGIN, ROBOKASSA_PASSWORD2 "
                "and ROBOKASSA_PASSWORD3"
            )
        op_key = self.op_key(invoice_id)
        # A float of the exact decimal: JSON numbers carry no more digits than this.
        value = float(Decimal(amount).scaleb(-exponent(currency)))
        key = OctKey.import_key(secret_values(self.settings.password3)[0])
        token = jwt.encode(
            {"alg": "HS256", "typ": "JWT"}, {"OpKey": op_key, "RefundSum": value}, key
        )
        what = f"Robokassa refund of {invoice_id}"
        url = f"{self.settings.refund_api_base.rstrip('/')}/Refund/Create"
        response = call(
            partial(
                self.client.post,
                url,
                content=token,
                headers={"Content-Type": "application/json"},
            ),
            what,
        )
        if response.status_code != 200:
            raise rejected(response, what)
        answer = json_body(response, what)
        if answer.get("success") is not True or not answer.get("requestId"):
            message = str(answer.get("message") or "no reason given")[:200]
            raise ApiRejected(f"{what}: refused: {message}")
        return answer
