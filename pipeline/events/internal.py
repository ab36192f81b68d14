"""Internal sources: systems of the business that submit events over the gRPC API.

Each is declared in `GRPC_SOURCES` with the handler its events route to. In the worker an
internal source is a provider like any other (its stored body is the submitted JSON) and
its events go through the same inbox: stored once per (source, external_id), retried,
replayable. It has no webhook route: the receiver answers 404 for it, as for any
provider that is not configured, since only API-key holders may submit for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import ClassVar

import orjson

from pipeline.events.handlers import Handler, HandlerRegistry
from pipeline.providers.base import Accepted, InboundRequest, NotConfigured, Reply


class NotAnObject(ValueError):
    pass


def parse_payload(body: bytes) -> dict[str, object]:
    """The payload of a submitted event: a JSON object (an empty body is `{}`)."""
    if not body.strip():
        return {}
    value = orjson.loads(body)
    if not isinstance(value, dict):
        raise NotAnObject("the payload must be a JSON object")
    return value


class InternalSource:
    """A provider for the worker side only; `name` is set per instance."""

    name: ClassVar[str] = ""
    methods: ClassVar[tuple[str, ...]] = ()
    verifies: ClassVar[str] = "gRPC API key (no webhook route)"

    def __init__(self, name: str) -> None:
        self.name = name  # type: ignore[misc]  # one class, a name per declared source

    def configured(self) -> bool:
        return False

    def accept(self, request: InboundRequest) -> Accepted:
        raise NotConfigured(self.name)

    def reply(self, accepted: Accepted) -> Reply:
        return Reply()

    def payload(self, body: bytes, headers: Mapping[str, str]) -> dict[str, object]:
        return parse_payload(body)


def load_handler(ref: str) -> Handler:
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ValueError(f"handler {ref!r} must be given as module:function")
    handler: Handler = getattr(import_module(module_name), attr)
    return handler


def register_handlers(registry: HandlerRegistry, sources: Mapping[str, str]) -> None:
    """Route every event of each declared source to its handler (a plugin that registers
    its own handlers for the source declares it with an empty reference)."""
    for source, ref in sources.items():
        if ref:
            registry.register(source, "*", load_handler(ref))
