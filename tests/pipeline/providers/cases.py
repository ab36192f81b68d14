"""Requests as each provider sends them, signed with the test secrets, and their variants.

A `Case` builds the valid request and the broken ones the acceptance matrix throws at
the receiver; a variant a provider cannot have (no secret, no timestamp) is None.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from pipeline.providers.parsing import json_lexemes
from pipeline.providers.robokassa import signature as robokassa_signature
from pipeline.providers.tbank import make_token
from tests.support.signing import STRIPE_SECRET, stripe_event, stripe_headers, telegram_update

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "providers"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# The test secrets (set in tests/pipeline/providers/conftest.py); the first of each is "current".
ENV: dict[str, str] = {
    "YOOKASSA_SHOP_ID": "100001",
    "YOOKASSA_SECRET_KEY": "test_yk_key_old,test_yk_key_new",
    "YOOKASSA_API_BASE": "https://yookassa.test",
    # The test client is 127.0.0.1; test_networks covers the default (enforced).
    "YOOKASSA_ENFORCE_OFFICIAL_NETWORKS": "false",
    "CLOUDPAYMENTS_API_SECRET": "cp-secret-old,cp-secret-new",
    "CLOUDKASSIR_API_SECRET": "ck-secret",
    "TBANK_TERMINAL_KEY": "1321054611234DEMO",
    "TBANK_PASSWORD": "tb-pass-old,tb-pass-new",
    "ROBOKASSA_MERCHANT_LOGIN": "demo",
    "ROBOKASSA_PASSWORD2": "rk-pass2-old,rk-pass2-new",
    "ROBOKASSA_TEST_PASSWORD2": "rk-test-pass2",
    "ATOL_LOGIN": "v5-online-atol-ru",
    "ATOL_PASSWORD": "atol-pass",
    "ATOL_GROUP_CODE": "v5-online-atol-ru_5179",
    "ATOL_API_BASE": "https://atol.test/possystem/v5",
    "ATOL_CALLBACK_TOKEN": "atol-cb-old,atol-cb-new",
    "ORANGEDATA_INN": "7708806062",
    "ORANGEDATA_CLIENT_CERT": "/etc/pipeline/orangedata/client.crt",
    "ORANGEDATA_CLIENT_KEY": "/etc/pipeline/orangedata/client.key",
    "ORANGEDATA_API_BASE": "https://orangedata.test:12003",
    "ORANGEDATA_CALLBACK_TOKEN": "od-cb-token",
    "ALERTMANAGER_WEBHOOK_TOKEN": "am-token-old,am-token-new",
    "ALERTMANAGER_WEBHOOK_PASSWORD": "am-pass",
}


def fixture(provider: str, name: str) -> bytes:
    return (FIXTURES / provider / name).read_bytes()


def fixture_json(provider: str, name: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(fixture(provider, name))
    return value


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    params: dict[str, str] | None = None

    def with_headers(self, **changes: str | None) -> Request:
        headers = {k: v for k, v in self.headers.items()}
        for name, value in changes.items():
            key = name.replace("_", "-")
            headers = {k: v for k, v in headers.items() if k.lower() != key.lower()}
            if value is not None:
                headers[key] = value
        return replace(self, headers=headers)


def cp_sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class Case(ABC):
    provider: str
    success_body: bytes
    # An address inside the provider's official networks (None: it publishes none).
    official_address: str | None = None

    @abstractmethod
    def valid(self) -> Request:
        """A request exactly as the provider sends it."""

    def tampered(self) -> Request | None:
        request = self.valid()
        return replace(request, body=request.body.replace(b"1", b"2", 1))

    def wrong_secret(self) -> Request | None:
        return None

    def missing_auth(self) -> Request | None:
        return None

    def stale(self) -> Request | None:
        return None

    def malformed(self) -> Request:
        return self.signed(b'{"not": "what the provider sends"}')

    def empty(self) -> Request:
        return self.signed(b"")

    def wrong_content_type(self) -> Request:
        return self.valid().with_headers(content_type="text/plain")

    def signed(self, body: bytes) -> Request:
        """`body` sent as the valid request is, signed with the current secret."""
        return replace(self.valid(), body=body)


class TelegramCase(Case):
    provider = "telegram"
    success_body = b'{"ok":true}'
    official_address = "149.154.167.220"

    def valid(self) -> Request:
        return self.signed(telegram_update(4242))

    def tampered(self) -> Request | None:
        return None  # a shared secret, not a signature over the body

    def signed(self, body: bytes, secret: str = "tg-secret-2") -> Request:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": JSON}
        return Request("/webhooks/telegram", body, headers)

    def wrong_secret(self) -> Request:
        return self.signed(telegram_update(4242), secret="not-the-secret")

    def missing_auth(self) -> Request:
        return self.valid().with_headers(X_Telegram_Bot_Api_Secret_Token=None)


class StripeCase(Case):
    provider = "stripe"
    success_body = b'{"received":true}'

    def valid(self) -> Request:
        return self.signed(stripe_event("evt_1NG8Du2eZvKYlo2CUI79vXWy"))

    def signed(self, body: bytes, secret: str = STRIPE_SECRET, at: int | None = None) -> Request:
        return Request("/webhooks/stripe", body, stripe_headers(body, secret, at))

    def wrong_secret(self) -> Request:
        return self.signed(stripe_event("evt_1"), secret="whsec_other")

    def missing_auth(self) -> Request:
        return self.valid().with_headers(Stripe_Signature=None)

    def stale(self) -> Request:
        return self.signed(stripe_event("evt_1"), at=int(time.time()) - 3600)


class YooKassaCase(Case):
    provider = "yookassa"
    success_body = b'{"ok":true}'
    official_address = "185.71.76.10"

    def valid(self) -> Request:
        return self.signed(fixture("yookassa", "payment.succeeded.json"))

    def signed(self, body: bytes) -> Request:
        return Request("/webhooks/yookassa", body, {"Content-Type": JSON})

    def tampered(self) -> Request | None:
        return None  # unsigned: the worker re-fetches (see test_refetch)


class CloudPaymentsCase(Case):
    provider = "cloudpayments"
    success_body = b'{"code":0}'

    def __init__(self, kind: str = "pay", body: str = "pay.txt", path: str = "") -> None:
        self.kind, self.file = kind, body
        self.path = path or f"/webhooks/cloudpayments/{kind}"

    def valid(self) -> Request:
        return self.signed(fixture(self.provider, self.file))

    def signed(self, body: bytes, secret: str = "cp-secret-new") -> Request:
        media = JSON if self.file.endswith(".json") else FORM
        headers = {"Content-HMAC": cp_sign(secret, body), "Content-Type": media}
        return Request(self.path, body, headers)

    def wrong_secret(self) -> Request:
        return self.signed(fixture(self.provider, self.file), secret="cp-secret-other")

    def missing_auth(self) -> Request:
        return self.valid().with_headers(Content_HMAC=None)

    def malformed(self) -> Request:
        return self.signed(b"Amount=100.00&Currency=RUB&Status=Completed")


class CloudKassirCase(CloudPaymentsCase):
    provider = "cloudkassir"

    def __init__(self) -> None:
        super().__init__("receipt", "receipt.txt", "/webhooks/cloudkassir")

    def signed(self, body: bytes, secret: str = "ck-secret") -> Request:
        return super().signed(body, secret)

    def malformed(self) -> Request:
        return self.signed(b"DocumentNumber=1234&Amount=100.00")


class TBankCase(Case):
    provider = "tbank"
    success_body = b"OK"
    official_address = "91.194.226.10"

    def __init__(self, file: str = "payment_confirmed.json") -> None:
        self.file = file

    def notification(self, password: str = "tb-pass-new") -> dict[str, Any]:
        fields = fixture_json("tbank", self.file)
        # The token covers the numbers as they will be written in the body.
        fields["Token"] = make_token(json_lexemes(json.dumps(fields).encode()), password)
        return fields

    def valid(self) -> Request:
        return self.signed(json.dumps(self.notification(), ensure_ascii=False).encode())

    def signed(self, body: bytes) -> Request:
        return Request("/webhooks/tbank", body, {"Content-Type": JSON})

    def tampered(self) -> Request:
        fields = self.notification()
        fields["Amount"] = 1
        return self.signed(json.dumps(fields).encode())

    def wrong_secret(self) -> Request:
        return self.signed(json.dumps(self.notification("not-the-password")).encode())

    def missing_auth(self) -> Request:
        fields = self.notification()
        del fields["Token"]
        return self.signed(json.dumps(fields).encode())

    def malformed(self) -> Request:
        fields = {"TerminalKey": "1321054611234DEMO", "Status": "CONFIRMED"}
        fields["Token"] = make_token(fields, "tb-pass-old")
        return self.signed(json.dumps(fields).encode())


class RobokassaCase(Case):
    provider = "robokassa"
    success_body = b"OK450009"
    official_address = "185.59.216.65"

    def __init__(self, method: str = "POST") -> None:
        self.method = method

    def fields(self, password: str = "rk-pass2-old", **extra: str) -> dict[str, str]:
        fields = dict(parse_qsl(fixture("robokassa", "result.txt").decode()))
        fields.update(extra)
        fields["SignatureValue"] = robokassa_signature(fields, password).upper()
        return fields

    def send(self, fields: dict[str, str]) -> Request:
        if self.method == "GET":
            return Request("/webhooks/robokassa", method="GET", params=fields)
        return Request("/webhooks/robokassa", urlencode(fields).encode(), {"Content-Type": FORM})

    def valid(self) -> Request:
        return self.send(self.fields())

    def tampered(self) -> Request:
        fields = self.fields()
        fields["OutSum"] = "1.000000"
        return self.send(fields)

    def wrong_secret(self) -> Request:
        return self.send(self.fields("not-the-password"))

    def missing_auth(self) -> Request:
        fields = self.fields()
        del fields["SignatureValue"]
        return self.send(fields)

    def malformed(self) -> Request:
        fields = self.fields()
        fields["OutSum"] = "a lot"
        return self.send(fields)

    def empty(self) -> Request:
        if self.method == "GET":
            return Request("/webhooks/robokassa", method="GET")
        return Request("/webhooks/robokassa", b"", {"Content-Type": FORM})


class AtolCase(Case):
    provider = "atol"
    success_body = b'{"ok":true}'

    def valid(self) -> Request:
        return self.signed(fixture("atol", "callback_done.json"))

    def signed(self, body: bytes, token: str = "atol-cb-new") -> Request:
        return Request(f"/webhooks/atol/{token}".rstrip("/"), body, {"Content-Type": JSON})

    def tampered(self) -> Request | None:
        return None  # unsigned: the worker re-fetches

    def wrong_secret(self) -> Request:
        return self.signed(fixture("atol", "callback_done.json"), token="atol-cb-guess")

    def missing_auth(self) -> Request:
        return self.signed(fixture("atol", "callback_done.json"), token="")


class OrangeDataCase(Case):
    provider = "orangedata"
    success_body = b'{"ok":true}'

    def valid(self) -> Request:
        return self.signed(fixture("orangedata", "callback.json"))

    def signed(self, body: bytes, token: str = "od-cb-token") -> Request:
        return Request(f"/webhooks/orangedata/{token}".rstrip("/"), body, {"Content-Type": JSON})

    def missing_auth(self) -> Request:
        return self.signed(fixture("orangedata", "callback.json"), token="")

    def tampered(self) -> Request | None:
        return None  # unsigned: the worker re-fetches

    def wrong_secret(self) -> Request:
        # The nearest thing to a secret: the seller's INN.
        document = fixture_json("orangedata", "callback.json")
        document["companyINN"] = "7700000000"
        return self.signed(json.dumps(document).encode())


def alertmanager_notification(status: str = "firing", **alert: Any) -> dict[str, Any]:
    """An Alertmanager webhook (payload version 4) with one alert."""
    one = {
        "status": status,
        "labels": {"alertname": "EventsDead", "severity": "warning", "source": "stripe"},
        "annotations": {"summary": "stripe: events went dead", "runbook": "operations/alerts/"},
        "startsAt": "2026-01-02T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-01-02T10:30:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": "a1b2c3d4e5f60718",
        **alert,
    }
    return {
        "version": "4",
        "groupKey": '{}:{alertname="EventsDead"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "pipeline",
        "groupLabels": {"alertname": "EventsDead"},
        "commonLabels": one["labels"],
        "commonAnnotations": one["annotations"],
        "externalURL": "http://alertmanager:9093",
        "alerts": [one],
    }


class AlertmanagerCase(Case):
    provider = "alertmanager"
    success_body = b'{"ok":true}'

    def valid(self) -> Request:
        return self.signed(json.dumps(alertmanager_notification()).encode())

    def tampered(self) -> Request | None:
        return None  # a shared token, not a signature over the body

    def signed(self, body: bytes, token: str = "am-token-new") -> Request:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": JSON}
        return Request("/webhooks/alertmanager", body, headers)

    def wrong_secret(self) -> Request:
        return self.signed(json.dumps(alertmanager_notification()).encode(), token="nope")

    def missing_auth(self) -> Request:
        return self.valid().with_headers(Authorization=None)

    def malformed(self) -> Request:
        return self.signed(b'{"version": "4", "status": "firing", "alerts": []}')


CASES: dict[str, Case] = {
    case.provider: case
    for case in (
        TelegramCase(),
        StripeCase(),
        YooKassaCase(),
        CloudPaymentsCase(),
        CloudKassirCase(),
        TBankCase(),
        RobokassaCase(),
        AtolCase(),
        OrangeDataCase(),
        AlertmanagerCase(),
    )
}
