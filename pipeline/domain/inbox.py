"""The seam between provider handlers and the domain: subscribers per event kind.

A provider handler normalizes a stored webhook and calls `deliver`; every subscriber of
the event's kind ("payment", "receipt") runs inside the handler's transaction, so what
they write commits or rolls back with the event's status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pipeline.domain.normalized import NormalizedEvent, PaymentEvent, ReceiptEvent
from pipeline.events.handlers import HandlerContext
from pipeline.storable import bounded, column_limit
from schema.events import EventStatus
from schema.orders import Payment

Subscriber = Callable[[HandlerContext, NormalizedEvent], None]
KINDS = (PaymentEvent.kind, ReceiptEvent.kind)


class DomainInbox:
    def __init__(self) -> None:
        self._subscribers: dict[str, list[Subscriber]] = {kind: [] for kind in KINDS}

    def subscribe(self, kind: str, subscriber: Subscriber) -> Subscriber:
        if kind not in self._subscribers:
            raise ValueError(f"unknown event kind {kind!r}; known: {', '.join(KINDS)}")
        if subscriber not in self._subscribers[kind]:
            self._subscribers[kind].append(subscriber)
        return subscriber

    def unsubscribe(self, kind: str, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers.get(kind, []):
            self._subscribers[kind].remove(subscriber)

    def subscribers(self, kind: str) -> tuple[Subscriber, ...]:
        return tuple(self._subscribers.get(kind, ()))

    def deliver(self, ctx: HandlerContext, events: Iterable[NormalizedEvent]) -> EventStatus | None:
        """Hand every event to its subscribers; IGNORED when there was nothing to hand over."""
        delivered = False
        for event in events:
            delivered = True
            for subscriber in self.subscribers(event.kind):
                subscriber(ctx, event)
        return None if delivered else EventStatus.IGNORED


inbox = DomainInbox()
subscribe = inbox.subscribe
unsubscribe = inbox.unsubscribe
deliver = inbox.deliver


# source (64) + ":" + external id (255) can exceed the column; the bound keeps it unique.
RAW_REFERENCE_MAX = column_limit(Payment.__table__.c.raw_reference)


def raw_reference(ctx: HandlerContext) -> str:
    return bounded(f"{ctx.event.source}:{ctx.event.external_id}", RAW_REFERENCE_MAX)
