"""The ports: what a handler may ask a provider's API, and the httpx adapters behind them.

A process's `Deps` builds the adapters on first use (`Deps.apis`); tests put others in
their place with `Deps.use_apis`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pipeline.providers.settings_set import ProviderSettingsSet


class YooKassaApi(Protocol):
    def get_payment(self, payment_id: str) -> dict[str, Any]: ...

    def get_refund(self, refund_id: str) -> dict[str, Any]: ...

    def create_payment(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        """A payment (paying by link); the same `key` answers with the same payment."""
        ...


class AtolApi(Protocol):
    def report(self, uuid: str) -> dict[str, Any]:
        """The receipt's report (`status` wait/done/fail)."""
        ...


class OrangeDataApi(Protocol):
    def document_status(self, inn: str, document_id: str) -> dict[str, Any] | None:
        """The processed document, or None while it is still in the queue."""
        ...


@dataclass
class ProviderApis:
    yookassa: YooKassaApi
    atol: AtolApi
    orangedata: OrangeDataApi


def http_provider_apis(settings: ProviderSettingsSet) -> ProviderApis:
    # Imported here: the receiver never needs the HTTP adapters.
    from pipeline.providers.api.atol import HttpAtolApi
    from pipeline.providers.api.orangedata import HttpOrangeDataApi
    from pipeline.providers.api.yookassa import HttpYooKassaApi

    return ProviderApis(
        HttpYooKassaApi(settings.yookassa),
        HttpAtolApi(settings.atol),
        HttpOrangeDataApi(settings.orangedata),
    )
