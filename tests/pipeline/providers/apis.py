"""Fake provider APIs (respx) answering as the real ones document."""

from __future__ import annotations

from typing import Any

import httpx
import respx

from pipeline.deps import Deps
from pipeline.providers.api.atol import HttpAtolApi
from pipeline.providers.api.orangedata import HttpOrangeDataApi
from pipeline.providers.api.ports import ProviderApis
from pipeline.providers.api.yookassa import HttpYooKassaApi
from tests.pipeline.providers.cases import ENV, fixture_json

PAYMENT_ID = "22d6d597-000f-5000-9000-145f6df21d6f"
REFUND_ID = "216749f7-0016-50be-b000-078d43a63ae4"
ATOL_UUID = "f2f3e1a4-53a5-4f5c-9cf5-8e3a4d3f2d11"
ORANGEDATA_ID = "a88b6b30-20ab-47ea-95ca-f12f22ef03d3"

YOOKASSA_PAYMENT = f"{ENV['YOOKASSA_API_BASE']}/v3/payments/{PAYMENT_ID}"
YOOKASSA_REFUND = f"{ENV['YOOKASSA_API_BASE']}/v3/refunds/{REFUND_ID}"
ATOL_TOKEN = f"{ENV['ATOL_API_BASE']}/getToken"
ATOL_REPORT = f"{ENV['ATOL_API_BASE']}/{ENV['ATOL_GROUP_CODE']}/report/{ATOL_UUID}"
ORANGEDATA_STATUS = (
    f"{ENV['ORANGEDATA_API_BASE']}/api/v2/documents/{ENV['ORANGEDATA_INN']}/status/{ORANGEDATA_ID}"
)


def use_test_apis(deps: Deps) -> None:
    """The real adapters on the Deps' provider settings, except that OrangeData needs no
    client certificate here (respx answers before any TLS would happen)."""
    p = deps.providers
    orangedata = HttpOrangeDataApi(p.orangedata, client=httpx.Client())
    deps.use_apis(ProviderApis(HttpYooKassaApi(p.yookassa), HttpAtolApi(p.atol), orangedata))


def json_response(body: dict[str, Any], status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def happy_paths(router: respx.MockRouter) -> None:
    """Every re-fetch answers as for a genuine, finished webhook."""
    router.get(YOOKASSA_PAYMENT).mock(
        return_value=json_response(fixture_json("yookassa", "api_payment_succeeded.json"))
    )
    router.post(ATOL_TOKEN).mock(return_value=json_response(fixture_json("atol", "token.json")))
    router.get(ATOL_REPORT).mock(
        return_value=json_response(fixture_json("atol", "callback_done.json"))
    )
    router.get(ORANGEDATA_STATUS).mock(
        return_value=json_response(fixture_json("orangedata", "callback.json"))
    )
