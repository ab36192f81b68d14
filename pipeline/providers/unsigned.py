"""Who may post to a provider whose webhooks carry no signature (YooKassa, ATOL, OrangeData).

Their worker re-fetches the object from the provider's API, so a forged body cannot
change what is believed; the source check only keeps strangers from making the worker
ask (and from filling the inbox). Two guards, either or both:

- a source allowlist (`<PREFIX>ALLOWED_NETWORKS`, plus the provider's published
  networks where it has them and `<PREFIX>ENFORCE_OFFICIAL_NETWORKS` is on);
- a secret path token (`<PREFIX>CALLBACK_TOKEN`): the callback URL given to the provider
  is `/webhooks/<name>/<token>`, compared in constant time.

When both are configured both must pass. A provider that needs a guard and has none is
not configured (404), and `pipeline providers list` says which guard is missing.
"""

from __future__ import annotations

import enum
from typing import ClassVar, Protocol, runtime_checkable

from pydantic import SecretStr

from pipeline.providers.base import Forbidden, InboundRequest
from pipeline.providers.config import ProviderSettings
from pipeline.providers.networks import require_source
from pipeline.providers.parsing import matches_any
from pipeline.settings import secret_values


class Exposure(enum.StrEnum):
    """Who can post to a provider's route, as `pipeline providers list` shows it."""

    SIGNED = "signed"  # every request carries a signature or shared secret
    GUARDED = "guarded"  # unsigned, behind an allowlist and/or a path token
    OPEN = "open"  # unsigned and anyone may post (re-fetch still decides)
    UNGUARDED = "refused"  # unsigned, no guard configured: callbacks refused


class UnsignedSettings(ProviderSettings):
    # Secret path segment: callbacks go to /webhooks/<provider>/<token>.
    callback_token: SecretStr | None = None


@runtime_checkable
class Refetching(Protocol):
    """A provider whose webhooks are hints: the worker re-fetches the object every time
    (a repeat of a finished event is processed again, see events.repository.store)."""

    name: ClassVar[str]
    refetches: ClassVar[bool]
    official_networks: ClassVar[tuple[str, ...]]
    # Whether callbacks are refused unless an allowlist or token is configured.
    guard_required: ClassVar[bool]

    @property
    def settings(self) -> UnsignedSettings: ...


def _tokens(settings: UnsignedSettings) -> list[str]:
    return secret_values(settings.callback_token)


def guards(provider: Refetching) -> list[str]:
    """The guards in force: "allowlist", "token"."""
    found = []
    if provider.settings.source_networks(provider.official_networks) is not None:
        found.append("allowlist")
    if _tokens(provider.settings):
        found.append("token")
    return found


def guarded(provider: Refetching) -> bool:
    """False when callbacks must be refused: a guard is required and none is set."""
    return bool(guards(provider)) or not provider.guard_required


def exposure(provider: object) -> tuple[Exposure, str]:
    """How open a provider's route is, and a note for the operator."""
    if not isinstance(provider, Refetching):
        return Exposure.SIGNED, ""
    found = guards(provider)
    if found:
        return Exposure.GUARDED, "+".join(found)
    prefix = str(provider.settings.model_config.get("env_prefix", ""))
    hint = f"set {prefix}ALLOWED_NETWORKS or {prefix}CALLBACK_TOKEN"
    if provider.guard_required:
        return Exposure.UNGUARDED, hint
    return Exposure.OPEN, hint


def require_guards(provider: Refetching, request: InboundRequest) -> None:
    """403 unless the request passes every guard configured for the provider."""
    settings = provider.settings
    networks = settings.source_networks(provider.official_networks)
    require_source(request.client_ip, networks, provider.name)
    tokens = _tokens(settings)
    if tokens and not matches_any(request.subpath, tokens):
        raise Forbidden("callback token missing or wrong")


def callback_path(name: str, settings: UnsignedSettings) -> str:
    """The route to give the provider as its callback URL (with the current token)."""
    tokens = _tokens(settings)
    return f"/webhooks/{name}/{tokens[-1]}" if tokens else f"/webhooks/{name}"
