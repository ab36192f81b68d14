"""Login through OAuth2 / OpenID Connect providers, with Authlib's OAuth2 client.

- OIDC (Google, any provider by discovery URL): authorization code with PKCE and a nonce;
  the id_token's signature is checked against the provider's JWKS, and its issuer,
  audience, expiry and nonce; the e-mail must be marked verified.
- GitHub (OAuth2 only): the verified primary address from its user/emails API.
- Yandex ID (OAuth2): the default address from its user info API.

The state of a login in progress (PKCE verifier, nonce, redirect URI) waits in Redis for
ten minutes under its `state` value, and is taken out once: a callback cannot be replayed.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import authlib.deprecate  # noqa: F401 (first: it sets its warnings to "always")
import httpx
import redis
from authlib.common.errors import AuthlibBaseError
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from loguru import logger

from pipeline.settings import OAuthProvider, Settings

with warnings.catch_warnings():
    # Authlib warns on import that it runs on httpx rather than its httpx2 fork; httpx is
    # what this project uses everywhere.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

STATE_TTL_S = 600
METADATA_TTL_S = 3600
Kind = Literal["oidc", "github", "userinfo"]

PRESETS: dict[str, dict[str, str]] = {
    "google": {
        "title": "Google",
        "kind": "oidc",
        "discovery_url": "https://accounts.google.com/.well-known/openid-configuration",
        "scope": "openid email profile",
    },
    "github": {
        "title": "GitHub",
        "kind": "github",
        "authorize_url": "https://github.com/login/oauth/authorize",
        "token_url": "https://github.com/login/oauth/access_token",
        "userinfo_url": "https://api.github.com/user/emails",
        "scope": "read:user user:email",
    },
    "yandex": {
        "title": "Yandex ID",
        "kind": "userinfo",
        "authorize_url": "https://oauth.yandex.ru/authorize",
        "token_url": "https://oauth.yandex.ru/token",
        "userinfo_url": "https://login.yandex.ru/info?format=json",
        "scope": "login:email login:info",
        "email_field": "default_email",
    },
}


class OAuthLoginError(Exception):
    """The login did not prove an e-mail address: why, for the answer (401)."""


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read (answered 502)."""


# An OAuth error code (RFC 6749 5.2: invalid_grant, access_denied, ...) is shown as is;
# anything else the provider or a library says goes to the log only.
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")


def _reason(exc: Exception) -> str:
    """What the person logging in is told: a fixed phrase per kind of failure, never the
    provider's own text (its error_description, a URL, a token's contents), which a
    provider or whoever sits in between controls."""
    if isinstance(exc, AuthlibBaseError):
        code = str(getattr(exc, "error", "") or "")
        known = f" ({code})" if _ERROR_CODE.fullmatch(code) else ""
        return f"the provider refused the login{known}"
    if isinstance(exc, httpx.HTTPError | ProviderUnavailable):
        return "the provider could not be reached or answered with an error"
    return "the provider's answer could not be verified"


@dataclass(frozen=True)
class ProviderConfig:
    name: str
    title: str
    kind: Kind
    client_id: str
    client_secret: str
    scope: str
    discovery_url: str | None = None
    authorize_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None
    email_field: str = "email"

    @classmethod
    def from_settings(cls, name: str, given: OAuthProvider) -> ProviderConfig:
        preset = PRESETS.get(name, {})
        discovery = given.discovery_url or preset.get("discovery_url")
        kind = preset.get("kind") or ("oidc" if discovery else "userinfo")
        config = cls(
            name=name,
            title=given.title or preset.get("title") or name,
            kind=kind,  # type: ignore[arg-type]
            client_id=given.client_id,
            client_secret=given.client_secret.get_secret_value(),
            scope=given.scope or preset.get("scope") or "openid email",
            discovery_url=discovery,
            authorize_url=given.authorize_url or preset.get("authorize_url"),
            token_url=given.token_url or preset.get("token_url"),
            userinfo_url=given.userinfo_url or preset.get("userinfo_url"),
            email_field=preset.get("email_field", "email"),
        )
        if config.kind == "oidc" and not config.discovery_url:
            raise ValueError(f"OAuth provider {name}: discovery_url is needed")
        if config.kind != "oidc" and not (config.authorize_url and config.token_url):
            raise ValueError(f"OAuth provider {name}: discovery_url or authorize/token URLs")
        return config


@dataclass(frozen=True)
class VerifiedEmail:
    email: str
    subject: str


class OAuthProviders:
    def __init__(
        self, configs: dict[str, ProviderConfig], store: redis.Redis | None, key_prefix: str = ""
    ) -> None:
        self.configs = configs
        self._store = store
        self._key_prefix = f"{key_prefix}api:oauth:"
        self._metadata: dict[str, tuple[float, dict[str, Any]]] = {}
        self._jwks: dict[str, KeySet] = {}

    @classmethod
    def from_settings(cls, settings: Settings, store: redis.Redis | None) -> OAuthProviders:
        configs = {
            name: ProviderConfig.from_settings(name, given)
            for name, given in settings.oauth_providers.items()
        }
        return cls(configs, store, settings.queue_prefix)

    def get(self, name: str) -> ProviderConfig | None:
        return self.configs.get(name)

    async def close(self) -> None:
        self._metadata.clear()
        self._jwks.clear()

    def _client(self, config: ProviderConfig, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=config.client_id,
            client_secret=config.client_secret,
            scope=config.scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=10.0,
        )

    async def _endpoints(self, config: ProviderConfig) -> dict[str, Any]:
        if config.kind != "oidc":
            return {
                "authorization_endpoint": config.authorize_url,
                "token_endpoint": config.token_url,
            }
        cached = self._metadata.get(config.name)
        if cached and time.monotonic() - cached[0] < METADATA_TTL_S:
            return cached[1]
        assert config.discovery_url is not None
        try:
            async with httpx.AsyncClient(timeout=10.0) as http:
                response = await http.get(config.discovery_url)
                response.raise_for_status()
                metadata: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("OAuth discovery for {} failed: {}", config.name, exc)
            raise ProviderUnavailable(f"{config.title}: discovery failed") from exc
        self._metadata[config.name] = (time.monotonic(), metadata)
        return metadata

    async def start(self, config: ProviderConfig, redirect_uri: str) -> str:
        """The provider's authorization URL to send the browser to."""
        endpoints = await self._endpoints(config)
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        async with self._client(config, redirect_uri) as client:
            extra = {"nonce": nonce} if config.kind == "oidc" else {}
            url, _ = client.create_authorization_url(
                endpoints["authorization_endpoint"], state=state, code_verifier=verifier, **extra
            )
        pending = {
            "provider": config.name,
            "verifier": verifier,
            "nonce": nonce,
            "redirect_uri": redirect_uri,
        }
        await self._put_state(state, pending)
        return str(url)

    async def finish(self, config: ProviderConfig, code: str, state: str) -> VerifiedEmail:
        """The verified e-mail of the user who came back with this code and state."""
        pending = await self._take_state(state)
        if pending is None or pending.get("provider") != config.name:
            raise OAuthLoginError("unknown or expired login state; start the login again")
        try:
            endpoints = await self._endpoints(config)
            async with self._client(config, pending["redirect_uri"]) as client:
                token = await client.fetch_token(
                    endpoints["token_endpoint"], code=code, code_verifier=pending["verifier"]
                )
                if config.kind == "oidc":
                    return await self._from_id_token(config, endpoints, token, pending, client)
                if config.kind == "github":
                    return await self._from_github(config, client)
                return await self._from_userinfo(config, client)
        except (
            AuthlibBaseError,
            httpx.HTTPError,
            JoseError,
            KeyError,
            ValueError,
            ProviderUnavailable,
        ) as exc:
            logger.warning("OAuth login with {} failed: {!r}", config.name, exc)
            raise OAuthLoginError(f"login with {config.title} failed: {_reason(exc)}") from exc

    async def _from_id_token(
        self,
        config: ProviderConfig,
        metadata: dict[str, Any],
        token: dict[str, Any],
        pending: dict[str, str],
        client: AsyncOAuth2Client,
    ) -> VerifiedEmail:
        if "id_token" not in token:
            raise OAuthLoginError(f"{config.title} sent no id_token")
        keys = await self._keys(config, metadata, client)
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        decoded = jwt.decode(
            token["id_token"], keys, algorithms=[a for a in algorithms if a != "none"]
        )
        jwt.JWTClaimsRegistry(
            leeway=60,
            iss={"essential": True, "value": metadata["issuer"]},
            aud={"essential": True, "value": config.client_id},
            exp={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": pending["nonce"]},
        ).validate(decoded.claims)
        claims = dict(decoded.claims)
        if "email" not in claims and metadata.get("userinfo_endpoint"):
            response = await client.get(metadata["userinfo_endpoint"])
            response.raise_for_status()
            claims.update({k: v for k, v in response.json().items() if k.startswith("email")})
        if not claims.get("email") or claims.get("email_verified") is not True:
            raise OAuthLoginError(f"{config.title} did not confirm a verified e-mail")
        return VerifiedEmail(str(claims["email"]), str(claims["sub"]))

    async def _keys(
        self, config: ProviderConfig, metadata: dict[str, Any], client: AsyncOAuth2Client
    ) -> KeySet:
        if config.name not in self._jwks:
            response = await client.get(metadata["jwks_uri"])
            response.raise_for_status()
            self._jwks[config.name] = KeySet.import_key_set(response.json())
        return self._jwks[config.name]

    async def _from_github(
        self, config: ProviderConfig, client: AsyncOAuth2Client
    ) -> VerifiedEmail:
        assert config.userinfo_url is not None
        response = await client.get(config.userinfo_url, headers={"Accept": "application/json"})
        response.raise_for_status()
        for item in response.json():
            if item.get("primary") and item.get("verified") and item.get("email"):
                return VerifiedEmail(str(item["email"]), str(item["email"]))
        raise OAuthLoginError("GitHub has no verified primary e-mail for this account")

    async def _from_userinfo(
        self, config: ProviderConfig, client: AsyncOAuth2Client
    ) -> VerifiedEmail:
        if not config.userinfo_url:
            raise OAuthLoginError(f"{config.title} has no user info URL configured")
        response = await client.get(config.userinfo_url)
        response.raise_for_status()
        info = response.json()
        email = info.get(config.email_field)
        if not email:
            raise OAuthLoginError(f"{config.title} sent no e-mail address")
        return VerifiedEmail(str(email), str(info.get("id") or info.get("sub") or email))

    async def _put_state(self, state: str, value: dict[str, str]) -> None:
        store = self._require_store()
        await anyio.to_thread.run_sync(
            lambda: store.set(self._key_prefix + state, json.dumps(value), ex=STATE_TTL_S)
        )

    async def _take_state(self, state: str) -> dict[str, str] | None:
        store = self._require_store()
        raw = await anyio.to_thread.run_sync(lambda: store.getdel(self._key_prefix + state))
        return json.loads(raw) if raw else None

    def _require_store(self) -> redis.Redis:
        if self._store is None:
            raise RuntimeError("OAuth login needs Redis")
        return self._store
