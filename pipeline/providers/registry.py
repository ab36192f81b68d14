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
    from pipeline.settings import Settings

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


def _builtin(ref: str, providers: ProviderSettingsSet, settings: Settings) -> Provider:
    """A built-in provider, with its settings from the process's set (the field named as
    the provider), and the process's settings when it declares it needs them
    (`uses_process_settings`)."""
    factory = _load(ref)
    own = getattr(providers, getattr(factory, "name", ""))
    if getattr(factory, "uses_process_settings", False):
        return factory(own, process_settings=settings)
    return factory(own)


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
    settings: Settings,
    *,
    with_plugins: bool = True,
    providers: ProviderSettingsSet | None = None,
) -> ProviderRegistry:
    """Every provider, built once by the process's runtime, which passes its settings
    (GRPC_SOURCES, what CloudPayments' Check applies) and its providers' settings (read
    from the environment here when it has none to give)."""
    if providers is None:
        # Still once per process: who passes none (`pipeline providers list`, a test)
        # builds its registry once.
        from pipeline.providers.settings_set import ProviderSettingsSet

        providers = ProviderSettingsSet.from_env()
    registry = ProviderRegistry([_builtin(ref, providers, settings) for ref in BUILTIN])
    if with_plugins:
        for name, factory in load_entry_points(ENTRY_POINT_GROUP):
            try:
                registry.register(factory())
            except Exception as exc:  # a broken plugin must not take the receiver down
                logger.error("provider plugin {} failed to load: {}", name, exc)
    add_internal_sources(registry, settings.grpc_sources)
    return registry


def add_internal_sources(registry: ProviderRegistry, names: Mapping[str, str]) -> None:
    """The sources declared for the gRPC API (GRPC_SOURCES), so that workers parse their
    events."""
    from pipeline.events.internal import InternalSource

    for name in names:
        if registry.get(name) is None:
            registry.register(InternalSource(name))
        else:  # the gRPC server refuses to start with it; webhooks keep their provider
            logger.error("GRPC_SOURCES names the webhook provider {}: ignored", name)
