"""The base of providers whose webhook body is one JSON object.

`accept` makes the checks every such provider needs, in this order: configured (else
`NotConfigured`: answered as an unknown provider), the provider's own check of the
sender (`authenticate`: source networks, path guards, signature), the JSON media type,
one JSON object; `identify` then reads the event's id and type from it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from pipeline.providers.base import Accepted, InboundRequest, NotConfigured, Reply
from pipeline.providers.parsing import json_object, require_media_type

JSON = "application/json"


class JsonWebhookProvider(ABC):
    name: ClassVar[str]

    @abstractmethod
    def configured(self) -> bool:
        """Whether the provider's settings are present."""

    @abstractmethod
    def authenticate(self, request: InboundRequest) -> Mapping[str, str]:
        """Raise unless the provider sent the request; the headers to keep with the event."""

    @abstractmethod
    def identify(self, document: dict[str, Any]) -> tuple[str, str]:
        """The event's external id and type; `MalformedBody` when it has none."""

    def accept(self, request: InboundRequest) -> Accepted:
        if not self.configured():
            raise NotConfigured(self.name)
        kept = self.authenticate(request)
        require_media_type(request.headers, JSON)
        external_id, event_type = self.identify(json_object(request.body))
        return Accepted(external_id=external_id, event_type=event_type, headers=kept)

    def reply(self, accepted: Accepted) -> Reply:
        return Reply()

    def payload(self, body: bytes, headers: Mapping[str, str]) -> dict[str, object]:
        return json_object(body)
