"""Sentry: handled event failures reach a (local) Sentry with the event id as a tag."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from pydantic import SecretStr

from pipeline.redaction import Redactor
from pipeline.sentry import capture, flush, init_sentry
from pipeline.settings import Settings

sentry_sdk = pytest.importorskip("sentry_sdk")


@pytest.fixture
def sentry_server() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            encoding = self.headers.get("content-encoding")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "br":  # the SDK prefers brotli when the package is present
                import brotli

                body = brotli.decompress(body)
            received.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://publickey@127.0.0.1:{server.server_port}/1", received
    server.shutdown()
    sentry_sdk.init()  # off again for the other tests
    sentry_sdk.get_client().close()


def test_off_without_dsn() -> None:
    assert not init_sentry(Settings(), "worker", Redactor())
    assert capture(RuntimeError("x"), event_id=1) is None


def test_handled_failure_is_sent_with_the_event_id(sentry_server: tuple[str, list[bytes]]) -> None:
    dsn, received = sentry_server
    settings = Settings(sentry_dsn=SecretStr(dsn))
    assert init_sentry(settings, "worker", Redactor(settings))
    try:
        raise TimeoutError("provider timed out")
    except TimeoutError as exc:
        assert capture(exc, event_id=77, provider="stripe")
    flush(5)
    payload = b"".join(received)
    assert b"provider timed out" in payload
    assert b'"event_id":"77"' in payload.replace(b" ", b"")
