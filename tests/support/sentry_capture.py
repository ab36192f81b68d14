"""A real Sentry client whose transport keeps envelopes in memory instead of sending them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sentry_sdk
from pydantic import SecretStr
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from pipeline.redaction import Redactor
from pipeline.sentry import init_sentry
from pipeline.settings import Settings


class MemoryTransport(Transport):
    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def items(self) -> list[bytes]:
        """The payload of every item sent (events, breadcrumbs inside them, logs)."""
        return [item.get_bytes() for envelope in self.envelopes for item in envelope.items]

    def events(self) -> list[dict[str, Any]]:
        found = []
        for envelope in self.envelopes:
            for item in envelope.items:
                if item.type == "event" and item.payload.json is not None:
                    found.append(item.payload.json)
        return found


@contextmanager
def captured_sentry(
    settings: Settings | None = None, redactor: Redactor | None = None
) -> Iterator[MemoryTransport]:
    """Sentry initialised the way the pipeline does it, events kept in memory; masked by
    `redactor` (the process's; by default one of `settings`)."""
    settings = settings or Settings(sentry_dsn=SecretStr("https://key@sentry.invalid/1"))
    transport = MemoryTransport()
    assert init_sentry(settings, "test", redactor or Redactor(settings), transport=transport)
    try:
        yield transport
    finally:
        sentry_sdk.flush(5)
        sentry_sdk.init()  # off again for the other tests
        sentry_sdk.get_client().close()
