"""OrangeData API v2: document status, over mutual TLS with the client certificate."""

from __future__ import annotations

import ssl
from functools import partial
from typing import Any
from urllib.parse import quote

import httpx

from pipeline.correlation import client_hooks
from pipeline.providers.api.http import ApiRejected, call, json_body, rejected, timeout
from pipeline.providers.orangedata import INN, OrangeDataSettings
from pipeline.providers.parsing import fully_matches


def client_ssl_context(settings: OrangeDataSettings) -> ssl.SSLContext:
    """Verify the server (system CAs or ORANGEDATA_CA_CERT) and present our certificate."""
    context = ssl.create_default_context(cafile=settings.ca_cert or None)
    password = settings.client_key_password
    context.load_cert_chain(
        settings.client_cert,
        settings.client_key,
        password=password.get_secret_value() if password else None,
    )
    return context


class HttpOrangeDataApi:
    def __init__(self, settings: OrangeDataSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self._client = client

    @property
    def client(self) -> httpx.Client:
        # Built on first use: loading the certificate needs the files to be there.
        if self._client is None:
            s = self.settings
            if not (s.client_cert and s.client_key):
                raise ApiRejected("OrangeData is not configured (ORANGEDATA_CLIENT_CERT/KEY)")
            try:
                context = client_ssl_context(s)
            except (OSError, ssl.SSLError) as exc:
                raise ApiRejected(f"OrangeData client certificate: {exc}") from None
            self._client = httpx.Client(
                verify=context, timeout=timeout(s.api_timeout_s), event_hooks=client_hooks()
            )
        return self._client

    def document_status(self, inn: str, document_id: str) -> dict[str, Any] | None:
        what = f"OrangeData document {inn}/{document_id}"
        if not fully_matches(INN, inn):
            raise ApiRejected(f"{what}: invalid INN")
        base = self.settings.api_base.rstrip("/")
        url = f"{base}/api/v2/documents/{inn}/status/{quote(document_id, safe='')}"
        client = self.client
        response = call(partial(client.get, url), what)
        if response.status_code == 202:
            return None
        if response.status_code != 200:
            raise rejected(response, what)
        return json_body(response, what)
