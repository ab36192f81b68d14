"""A fake OAuth2 / OpenID Connect provider for tests and local runs of staff login.

OIDC: `GET /.well-known/openid-configuration`, `GET /authorize` (no login page: it
approves at once as the configured user and redirects back with a code), `POST /token`
(authorization code with PKCE S256, client secret by Basic auth or in the form; answers
an RS256-signed id_token with the nonce), `GET /jwks`, `GET /userinfo`.
Plain OAuth2 look-alikes of the presets: `GET /user/emails` (GitHub) and `GET /info`
(Yandex ID), both with the access token.

Control: `POST /_fake/config {"email": "a@b.c", "email_verified": true, "tamper": null}`
sets who logs in next; `tamper` spoils the next id_token: "signature", "audience",
"nonce", "expired" or "issuer". `GET /_fake/calls` lists the token requests.

Run: `python -m scripts.fakes.oidc --port 8083`, then configure a provider with
`discovery_url = http://127.0.0.1:8083/.well-known/openid-configuration`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "pipeline-test-client"
CLIENT_SECRET = "fake-oidc-client-secret-value"


@dataclass
class OidcState:
    issuer: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, {"kid": "fake-1"}))
    email: str = "admin@example.com"
    email_verified: bool = True
    tamper: str | None = None
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


def _client_credentials(request: web.Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("Authorization", "")
    if header.startswith("Basic "):
        decoded = base64.b64decode(header[6:]).decode()
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _id_token(state: OidcState, user: dict[str, Any], nonce: str | None) -> str:
    now = int(time.time())
    tamper = state.tamper
    claims = {
        "iss": "https://someone-else.example" if tamper == "issuer" else state.issuer,
        "aud": "another-client" if tamper == "audience" else CLIENT_ID,
        "sub": user["sub"],
        "email": user["email"],
        "email_verified": user["email_verified"],
        "nonce": "not-the-nonce" if tamper == "nonce" else nonce,
        "iat": now - (7200 if tamper == "expired" else 0),
        "exp": now + (-3600 if tamper == "expired" else 300),
    }
    key = RSAKey.generate_key(2048, {"kid": "fake-1"}) if tamper == "signature" else state.key
    return jwt.encode({"alg": "RS256", "kid": "fake-1"}, claims, key)


def _bearer_user(state: OidcState, request: web.Request) -> dict[str, Any] | None:
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else ""
    with state.lock:
        return state.tokens.get(token)


def make_app(state: OidcState | None = None) -> web.Application:
    state = state or OidcState()
    app = web.Application()

    async def discovery(request: web.Request) -> web.Response:
        base = state.issuer
        return web.json_response(
            {
                "issuer": base,
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/jwks",
                "userinfo_endpoint": f"{base}/userinfo",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def authorize(request: web.Request) -> web.Response:
        query = request.query
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return _error(400, "invalid_request", "unknown client or response type")
        code = secrets.token_urlsafe(16)
        with state.lock:
            state.codes[code] = {
                "redirect_uri": query.get("redirect_uri"),
                "nonce": query.get("nonce"),
                "challenge": query.get("code_challenge"),
                "user": {
                    "sub": hashlib.sha256(state.email.encode()).hexdigest()[:16],
                    "email": state.email,
                    "email_verified": state.email_verified,
                },
            }
        separator = "&" if "?" in query["redirect_uri"] else "?"
        location = f"{query['redirect_uri']}{separator}code={code}&state={query.get('state', '')}"
        raise web.HTTPFound(location)

    async def token(request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        client_id, secret = _client_credentials(request, form)
        with state.lock:
            state.calls.append({"path": "/token", "form": form})
            grant = state.codes.pop(form.get("code", ""), None)
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
            return _error(401, "invalid_client", "bad client credentials")
        if grant is None or form.get("grant_type") != "authorization_code":
            return _error(400, "invalid_grant", "unknown or used code")
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return _error(400, "invalid_grant", "redirect_uri differs")
        if not grant["challenge"] or _s256(form.get("code_verifier", "")) != grant["challenge"]:
            return _error(400, "invalid_grant", "PKCE verification failed")
        access = secrets.token_urlsafe(24)
        with state.lock:
            state.tokens[access] = grant["user"]
            id_token = _id_token(state, grant["user"], grant["nonce"])
        return web.json_response(
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            }
        )

    async def jwks(request: web.Request) -> web.Response:
        return web.json_response(KeySet([state.key]).as_dict(private=False))

    async def userinfo(request: web.Request) -> web.Response:
        user = _bearer_user(state, request)
        return web.json_response(user) if user else _error(401, "invalid_token", "bad token")

    async def github_emails(request: web.Request) -> web.Response:
        user = _bearer_user(state, request)
        if user is None:
            return _error(401, "invalid_token", "bad token")
        return web.json_response(
            [
                {"email": f"old-{user['email']}", "primary": False, "verified": True},
                {"email": user["email"], "primary": True, "verified": user["email_verified"]},
            ]
        )

    async def yandex_info(request: web.Request) -> web.Response:
        user = _bearer_user(state, request)
        if user is None:
            return _error(401, "invalid_token", "bad token")
        return web.json_response({"id": user["sub"], "default_email": user["email"]})

    async def config(request: web.Request) -> web.Response:
        body = await request.json()
        with state.lock:
            state.email = body.get("email", state.email)
            state.email_verified = bool(body.get("email_verified", True))
            state.tamper = body.get("tamper")
        return web.json_response({"ok": True})

    async def calls(request: web.Request) -> web.Response:
        with state.lock:
            return web.json_response(list(state.calls))

    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_get("/authorize", authorize)
    app.router.add_post("/token", token)
    app.router.add_get("/jwks", jwks)
    app.router.add_get("/userinfo", userinfo)
    app.router.add_get("/user/emails", github_emails)
    app.router.add_get("/info", yandex_info)
    app.router.add_post("/_fake/config", config)
    app.router.add_get("/_fake/calls", calls)
    return app


class FakeOidcThread:
    """The fake in a background thread of this process (tests)."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.state = OidcState()
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(make_app(self.state))
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, host, port)
        self._loop.run_until_complete(site.start())
        sockets = site._server.sockets  # type: ignore[union-attr]
        self.url = f"http://{host}:{sockets[0].getsockname()[1]}"
        self.state.issuer = self.url
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def log_in_as(self, email: str, *, verified: bool = True, tamper: str | None = None) -> None:
        with self.state.lock:
            self.state.email, self.state.email_verified = email, verified
            self.state.tamper = tamper

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8083)
    args = parser.parse_args()
    state = OidcState(issuer=f"http://{args.host}:{args.port}")
    web.run_app(make_app(state), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
