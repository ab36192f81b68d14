"""The HTTP adapters on their own: configuration errors are permanent, the OrangeData
client presents its certificate, and every provider is reachable on both brokers."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
import respx

from pipeline.providers.api.atol import HttpAtolApi
from pipeline.providers.api.http import ApiRejected, ApiUnavailable, call
from pipeline.providers.api.orangedata import HttpOrangeDataApi, client_ssl_context
from pipeline.providers.api.yookassa import HttpYooKassaApi
from pipeline.providers.atol import AtolSettings
from pipeline.providers.orangedata import OrangeDataSettings
from pipeline.providers.yookassa import YooKassaSettings
from tests.pipeline.providers.cases import CASES
from tests.pipeline.providers.conftest import enqueued, running_receiver


def test_unconfigured_apis_fail_permanently() -> None:
    with pytest.raises(ApiRejected, match="not configured"):
        HttpYooKassaApi(YooKassaSettings(shop_id="", secret_key=None)).get_payment("abc")
    with pytest.raises(ApiRejected, match="not configured"):
        HttpOrangeDataApi(OrangeDataSettings(client_cert="", client_key="")).document_status(
            "7708806062", "doc-1"
        )


def test_ids_from_webhooks_never_reach_a_url_unchecked() -> None:
    with pytest.raises(ApiRejected, match="invalid"):
        HttpYooKassaApi(YooKassaSettings()).get_payment("../v3/refunds/x")
    with pytest.raises(ApiRejected, match="invalid"):
        HttpAtolApi(AtolSettings()).report("a/b")


def test_missing_certificate_files_are_a_configuration_error() -> None:
    with pytest.raises(ApiRejected, match="client certificate"):
        # ORANGEDATA_CLIENT_CERT points nowhere in the tests.
        HttpOrangeDataApi(OrangeDataSettings()).document_status("7708806062", "doc-1")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_orangedata_presents_the_client_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "client.crt", tmp_path / "client.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=pipeline-test", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    settings = OrangeDataSettings(client_cert=str(cert), client_key=str(key))
    context = client_ssl_context(settings)
    assert context.verify_mode is ssl.CERT_REQUIRED  # the server is still verified


def test_call_retries_5xx_then_gives_up() -> None:
    with respx.mock() as router:
        route = router.get("https://api.test/x").mock(return_value=httpx.Response(503))
        with httpx.Client() as client, pytest.raises(ApiUnavailable, match="HTTP 503"):
            call(lambda: client.get("https://api.test/x"), "test", max_wait_s=0.01)
    assert route.call_count == 3


def test_call_returns_4xx_at_once() -> None:
    with respx.mock() as router:
        route = router.get("https://api.test/x").mock(return_value=httpx.Response(404))
        with httpx.Client() as client:
            assert call(lambda: client.get("https://api.test/x"), "test").status_code == 404
    assert route.call_count == 1


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_provider_enqueues_on_each_broker(name: str, broker_url: str) -> None:
    with running_receiver(broker_url) as (_, send):
        assert send(CASES[name].valid()).status_code == 200
    assert enqueued(broker_url) == 1
