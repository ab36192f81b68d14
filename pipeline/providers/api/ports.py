"""The ports: what a handler may ask a provider's API, and where the adapters come from.

`provider_apis()` builds the httpx adapters from settings on first use in a process;
`use_provider_apis()` swaps in others (tests, a worker's own adapters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class YooKassaApi(Protocol):
    def get_payment(self, payment_id: str) -> dict[str, Any]: ...

    def get_refund(self, refund_id: str) -> dict[str, Any]: ...


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


_current: ProviderApis | None = None


def provider_apis() -> ProviderApis:
    global _current
    if _current is None:
        # Imported here: the receiver never needs the HTTP adapters.
        from pipeline.providers.api.atol import HttpAtolApi
        from pipeline.providers.api.orangedata import HttpOrangeDataApi
        from pipeline.providers.api.yookassa import HttpYooKassaApi

        _current = ProviderApis(HttpYooKassaApi(), HttpAtolApi(), HttpOrangeDataApi())
    return _current


def use_provider_apis(apis: ProviderApis | None) -> None:
    """Replace the adapters; None rebuilds them from settings on next use."""
    global _current
    _current = apis
