"""The provider registry: built-in providers plus the `pipeline.providers` entry points."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import import_module

from loguru import logger

from pipeline.plugins import load_entry_points
from pipeline.providers.base import Provider

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


def _load(ref: str) -> Callable[[], Provider]:
    module_name, _, attr = ref.partition(":")
    factory: Callable[[], Provider] = getattr(import_module(module_name), attr)
    return factory


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


def build_registry(*, with_plugins: bool = True) -> ProviderRegistry:
    registry = ProviderRegistry([_load(ref)() for ref in BUILTIN])
    if with_plugins:
        for name, factory in load_entry_points(ENTRY_POINT_GROUP):
            try:
                registry.register(factory())
            except Exception as exc:  # a broken plugin must not take the receiver down
                logger.error("provider plugin {} failed to load: {}", name, exc)
    add_internal_sources(registry)
    return registry


def add_internal_sources(registry: ProviderRegistry) -> None:
    """The sources declared for the gRPC API, so that workers parse their events."""
    from pipeline.events.internal import InternalSource
    from pipeline.settings import get_settings

    for name in get_settings().grpc_sources:
        if registry.get(name) is None:
            registry.register(InternalSource(name))
        else:  # the gRPC server refuses to start with it; webhooks keep their provider
            logger.error("GRPC_SOURCES names the webhook provider {}: ignored", name)


_default: ProviderRegistry | None = None


def default_registry() -> ProviderRegistry:
    global _default
    if _default is None:
        _default = build_registry()
    return _default
