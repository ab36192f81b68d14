"""docker/nginx with a real nginx: `nginx -t` on the rendered config, then requests
through it to a real receiver process (and to a header-echoing upstream) on loopback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.deploy.nginx_support import (
    INSTALL_HINT,
    ROOT,
    check_config,
    nginx_binary,
    render,
    running,
)
from tests.support.broker import purge
from tests.support.processes import free_port, pipeline_env, receiver, wait_until
from tests.support.signing import TELEGRAM_SECRET, telegram_headers, telegram_update

if TYPE_CHECKING:
    from tests.support.services import TestServices

pytestmark = pytest.mark.process

DOMAIN = "pipeline.test"
BASE_ENV = {
    "DOMAIN": DOMAIN,
    "NGINX_MAX_BODY_SIZE": "1m",
    "NGINX_WEBHOOK_RATE": "50r/s",
    "NGINX_WEBHOOK_BURST": "100",
}
SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "content-security-policy")


@pytest.fixture(scope="module")
def nginx() -> str:
    binary = nginx_binary()
    if binary is None:
        pytest.skip(INSTALL_HINT)
    return binary


class Echo(BaseHTTPRequestHandler):
    """Answers with the request headers it got, padded so that gzip applies."""

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        body = json.dumps(
            {"path": self.path, "headers": dict(self.headers.items()), "pad": "x" * 4096}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def echo() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def self_signed(directory: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: it makes the test certificate")
    live = directory / "live" / DOMAIN
    live.mkdir(parents=True)
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={DOMAIN}", "-addext", f"subjectAltName=DNS:{DOMAIN}",
         "-keyout", str(live / "privkey.pem"), "-out", str(live / "fullchain.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def test_http_config_proxies_to_the_receiver(
    nginx: str,
    tmp_path: Path,
    services: TestServices,
    database_url: str,
    queue_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefix = f"{queue_prefix}nginx-"
    monkeypatch.setenv("QUEUE_PREFIX", prefix)
    env = pipeline_env(
        DATABASE_URL=database_url, BROKER_URL=services.redis_url, QUEUE_PREFIX=prefix
    )
    with receiver(env, tmp_path) as base:
        upstream = base.removeprefix("http://")
        rendered = render(tmp_path, BASE_ENV, upstream=upstream)
        check_config(nginx, rendered)
        with running(nginx, rendered):
            url = f"http://127.0.0.1:{rendered.http_port}"
            with httpx.Client(base_url=url, timeout=10) as client:
                health = client.get("/healthz")
                assert health.status_code == 200, health.text
                assert health.json()["status"] == "ok"
                for name in SECURITY_HEADERS:
                    assert name in health.headers, f"missing {name}"
                assert "server" not in health.headers or "nginx/" not in health.headers["server"]

                # Unsigned: the receiver itself says 401, so the route is proxied.
                unsigned = client.post("/webhooks/telegram", content=b"{}")
                assert unsigned.status_code == 401, unsigned.text
                assert "X-Telegram-Bot-Api-Secret-Token" in unsigned.text

                signed = client.post(
                    "/webhooks/telegram",
                    content=telegram_update(424242),
                    headers=telegram_headers(TELEGRAM_SECRET),
                )
                assert signed.status_code == 200, signed.text
                assert len(signed.headers["x-request-id"]) == 32  # nginx's $request_id

                ready = client.get("/readyz")
                assert ready.status_code in (200, 503) and "checks" in ready.json()

                too_big = client.post("/webhooks/telegram", content=b"x" * (1024 * 1024 + 1))
                assert too_big.status_code == 413
                assert client.get("/metrics").status_code == 404
                assert client.get("/").status_code == 404
                assert client.get("/nginx-health").text == "ok\n"

        script = str(ROOT / "docker" / "healthcheck.py")
        port = upstream.rsplit(":", 1)[1]
        ok = subprocess.run([sys.executable, script, "receiver", "--port", port], timeout=30)
        assert ok.returncode == 0
    down = subprocess.run(
        [sys.executable, script, "receiver", "--port", str(free_port())],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert down.returncode == 1 and "unhealthy receiver" in down.stdout
    purge(services.redis_url, "ingest")


def test_forwarded_headers_cannot_be_spoofed_and_api_is_gzipped(
    nginx: str, tmp_path: Path, echo: str
) -> None:
    rendered = render(tmp_path, BASE_ENV, upstream=echo)
    check_config(nginx, rendered)
    with running(nginx, rendered):
        url = f"http://127.0.0.1:{rendered.http_port}/webhooks/echo"
        response = httpx.post(
            url,
            content=b"{}",
            headers={"X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6", "Host": DOMAIN},
        )
        assert response.status_code == 200
        assert response.headers.get("content-encoding") == "gzip"
        seen = {k.lower(): v for k, v in response.json()["headers"].items()}
        assert seen["x-real-ip"] == "127.0.0.1"
        assert seen["x-forwarded-for"] == "127.0.0.1"
        assert seen["x-forwarded-proto"] == "http"
        assert seen["host"] == DOMAIN
        assert len(seen["x-request-id"]) == 32


def test_webhook_routes_are_rate_limited(nginx: str, tmp_path: Path, echo: str) -> None:
    env = {**BASE_ENV, "NGINX_WEBHOOK_RATE": "1r/s", "NGINX_WEBHOOK_BURST": "3"}
    rendered = render(tmp_path, env, upstream=echo)
    check_config(nginx, rendered)
    with running(nginx, rendered), httpx.Client(timeout=10) as client:
        url = f"http://127.0.0.1:{rendered.http_port}"
        codes = [client.post(f"{url}/webhooks/x", content=b"{}").status_code for _ in range(12)]
        assert codes.count(429) >= 5, codes
        assert 200 in codes
        # Health checks are not limited.
        assert {client.get(f"{url}/healthz").status_code for _ in range(10)} == {200}


def test_tls_config_serves_https_and_redirects_http(nginx: str, tmp_path: Path, echo: str) -> None:
    rendered = render(tmp_path, BASE_ENV, tls=True, upstream=echo)
    self_signed(rendered.letsencrypt)
    challenge = rendered.webroot / ".well-known" / "acme-challenge"
    challenge.mkdir(parents=True)
    (challenge / "token-1").write_text("token-1.key")
    check_config(nginx, rendered)
    with running(nginx, rendered):
        http = f"http://127.0.0.1:{rendered.http_port}"
        redirect = httpx.post(f"{http}/webhooks/stripe", headers={"Host": DOMAIN})
        assert redirect.status_code == 301
        assert redirect.headers["location"] == f"https://{DOMAIN}/webhooks/stripe"
        acme = httpx.get(f"{http}/.well-known/acme-challenge/token-1")
        assert acme.status_code == 200 and acme.text == "token-1.key"

        https = f"https://127.0.0.1:{rendered.https_port}"
        with httpx.Client(verify=False, timeout=10) as client:  # self-signed
            response = client.post(f"{https}/webhooks/stripe", content=b"{}")
            assert response.status_code == 200
            assert response.headers["strict-transport-security"].startswith("max-age=")
            for name in SECURITY_HEADERS:
                assert name in response.headers
            seen = {k.lower(): v for k, v in response.json()["headers"].items()}
            assert seen["x-forwarded-proto"] == "https"
            assert seen["x-real-ip"] == "127.0.0.1"


@pytest.fixture
def api_upstream() -> Iterator[str]:
    """A stand-in for the API: echoes headers over HTTP and messages over a WebSocket,
    and sets its own Content-Security-Policy as the API does."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket

    async def headers(request: Request) -> JSONResponse:
        return JSONResponse(
            {"headers": dict(request.headers)}, headers={"Content-Security-Policy": "from-app"}
        )

    async def echo_socket(websocket: WebSocket) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():
            await websocket.send_text(f"echo {text}")

    app = Starlette(
        routes=[
            Route("/api/v1/headers", headers),
            Route("/admin/headers", headers),  # the web console, served by the API too
            WebSocketRoute("/api/v1/ws", echo_socket),
        ]
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, 15, "the API stand-in to start")
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_api_is_proxied_with_websocket_upgrades_and_its_own_csp(
    nginx: str, tmp_path: Path, echo: str, api_upstream: str
) -> None:
    from websockets.sync.client import connect

    rendered = render(tmp_path, BASE_ENV, upstream=echo, api_upstream=api_upstream)
    check_config(nginx, rendered)
    with running(nginx, rendered):
        base = f"127.0.0.1:{rendered.http_port}"
        response = httpx.get(
            f"http://{base}/api/v1/headers", headers={"X-Forwarded-For": "6.6.6.6"}
        )
        assert response.status_code == 200
        seen = response.json()["headers"]
        assert seen["x-forwarded-for"] == "127.0.0.1" and len(seen["x-request-id"]) == 32
        assert "upgrade" not in seen  # plain requests keep the upstream keepalive
        # The API's own policy, not the proxy's 'none' (which would break the docs pages).
        assert response.headers.get_list("content-security-policy") == ["from-app"]
        assert response.headers["x-content-type-options"] == "nosniff"
        with connect(f"ws://{base}/api/v1/ws", open_timeout=10) as socket:
            socket.send("hello")
            assert socket.recv(timeout=10) == "echo hello"
        console = httpx.get(f"http://{base}/admin/headers")
        assert console.status_code == 200
        assert console.headers.get_list("content-security-policy") == ["from-app"]
        # The webhook routes still go to the receiver.
        assert (
            httpx.post(f"http://{base}/webhooks/x", content=b"{}").json()["path"] == "/webhooks/x"
        )
