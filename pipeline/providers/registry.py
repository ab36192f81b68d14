"""The provider registry: built-in providers plus the `pipeline.providers` entry points."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from importlib import import_module
from typing import TYPE_CHECKING

from loguru import logger

from pipeline.plugins import load_entry_points
from pipeline.providers.base import Provider

if TYPE_CHECKING:
    from pipeline.providers.settings_set import ProviderSettingsSet

ENTRY_POINT_GROUP = "pipeline.providers"

# Built-in providers, as "module:factory" so that importing the registry stays cheap.
BUILTIN: tuple[str, ...] = (
    "pipeline.providers.telegram:TelegramProvider",
    "pipeline.providers.stripe:StripeProvider",
    "pipeline.providers.yookassa:YooKassaProvider",
    "pipeline.providers.cloudpayments:CloudPaymentsProvider",
    "pipeline.providers.cloudkassir:CloudKassirProvider",
    "pipeline.providers.tbank:TBankProvider",
    "pipeline.providers.robokassa:RobokassaProvider",
    "pipeline.providers.atol:AtolProvider",
    "pipeline.providers.orangedata:OrangeDataProvider",
    "pipeline.providers.alertmanager:AlertmanagerProvider",
)


def _load(ref: str) -> Callable[..., Provider]:
    module_name, _, attr = ref.partition(":")
    factory: Callable[..., Provider] = getattr(import_module(module_name), attr)
    return factory


def _builtin(ref: str, settings: ProviderSettingsSet | None) -> Provider:
    """A built-in provider, with its settings from the process's set when given."""
    factory = _load(ref)
    own = getattr(settings, getattr(factory, "name", ""), None) if settings else None
    return factory(own) if own is not None else factory()


class ProviderRegistry:
    def __init__(self, providers: list[Provider] | None = None) -> None:
        self._providers: dict[str, Provider] = {}
        for provider in providers or []:
            self.register(provider)

    def register(self, provider: Provider) -> None:
        if not isinstance(provider, Provider):
            raise TypeError(f"{provider!r} does not implement the Provider protocol")
        if provider.name in self._providers:
            raise ValueError(f"provider {provider.name!r} is registered twice")
        self._providers[provider.name] = provider

    def get(self, name: str) -> Provider | None:
        return self._providers.get(name)

    def __iter__(self) -> Iterator[Provider]:
        return iter(self._providers.values())

    def __len__(self) -> int:
        return len(self._providers)

    def names(self) -> list[str]:
        return sorted(self._providers)


def build_registry(
    *,
    with_plugins: bool = True,
    settings: ProviderSettingsSet | None = None,
    grpc_sources: Mapping[str, str] | None = None,
) -> ProviderRegistry:
    """Every provider, built once by the process's runtime (which passes its settings)."""
    registry = ProviderRegistry([_builtin(ref, settings) for ref in BUILTIN])
    if with_plugins:
        for name, factory in load_entry_points(ENTRY_POINT_GROUP):
            try:
                registry.register(factory())
            except Exception as exc:  # a broken plugin must not take the receiver down
                logger.error("provider plugin {} failed to load: {}", name, exc)
    add_internal_sources(registry, grpc_sources)
    return registry


def add_internal_sources(
    registry: ProviderRegistry, names: Mapping[str, str] | None = None
) -> None:
    """The sources declared for the gRPC API, so that workers parse their events."""
    from pipeline.events.internal import InternalSource

    if names is None:
        from pipeline.settings import get_settings

        names = get_settings().grpc_sources
    for name in names:
        if registry.get(name) is None:
            registry.register(InternalSource(name))
        else:  # the gRPC server refuses to start with it; webhooks keep their provider
            logger.error("GRPC_SOURCES names the webhook provider {}: ignored", name)
