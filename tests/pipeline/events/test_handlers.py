"""Routing by (source, type): the longest registered prefix wins, and every event type a
provider module claims to handle reaches a handler (not `ignored`)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.events.handlers import HandlerContext, HandlerRegistry, load_handler_modules
from pipeline.events.service import EventService, RetryPolicy
from pipeline.providers import (
    atol,
    cloudpayments,
    orangedata,
    robokassa,
    stripe,
    tbank,
    telegram,
    yookassa,
)
from pipeline.providers.registry import build_registry
from pipeline.settings import get_settings
from schema.events import Event, EventStatus
from tests.pipeline.events.test_service import envelope
from tests.support.signing import stripe_event

CLAIMED = {
    "stripe": stripe.EVENT_TYPES,
    "telegram": telegram.EVENT_TYPES,
    "tbank": tbank.EVENT_TYPES,
    "cloudpayments": cloudpayments.EVENT_TYPES,
    "cloudkassir": cloudpayments.RECEIPT_EVENT_TYPES,
    "yookassa": yookassa.EVENT_TYPES,
    "robokassa": robokassa.EVENT_TYPES,
    "atol": atol.EVENT_TYPES,
    "orangedata": orangedata.EVENT_TYPES,
}


def _loaded() -> HandlerRegistry:
    """The process's handlers, as a worker loads them from its settings."""
    return load_handler_modules(grpc_sources=get_settings().grpc_sources)


def _a(ctx: HandlerContext) -> None:
    return None


def _b(ctx: HandlerContext) -> None:
    return None


def _any(ctx: HandlerContext) -> None:
    return None


def test_the_longest_registered_prefix_wins() -> None:
    registry = HandlerRegistry()
    registry.register("stripe", "checkout.*", _a)
    registry.register("stripe", "checkout.session.*", _b)
    registry.register("stripe", "*", _any)
    assert registry.find("stripe", "checkout.session.completed") is _b
    assert registry.find("stripe", "checkout.other") is _a
    assert registry.find("stripe", "charge.refunded") is _any
    assert registry.find("paypal", "checkout.session.completed") is None


@pytest.mark.parametrize(
    ("source", "event_type"),
    [(source, t) for source, types in sorted(CLAIMED.items()) for t in types],
)
def test_every_claimed_event_type_has_a_handler(source: str, event_type: str) -> None:
    assert _loaded().find(source, event_type) is not None


@pytest.mark.parametrize(
    "pattern",
    [key for key in _loaded().keys() if key[1].endswith(".*")],  # noqa: SIM118
)
def test_every_registered_prefix_pattern_is_reachable(pattern: tuple[str, str]) -> None:
    registry = _loaded()
    source, prefix = pattern
    concrete = prefix[:-1] + "anything"
    assert registry.find(source, concrete) is registry._handlers[pattern]


@pytest.mark.parametrize("event_type", stripe.EVENT_TYPES)
def test_stripe_payment_events_are_processed_not_ignored(
    db: sessionmaker[Session], event_type: str
) -> None:
    service = EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        load_handler_modules(grpc_sources=get_settings().grpc_sources),
        RetryPolicy(3, 0.01, 0.05),
        deps=Deps.build(),
    )
    body = stripe_event("evt_1", event_type)
    service.ingest([envelope("stripe", "evt_1", body, event_type)])
    with db() as session:
        event = session.scalars(select(Event)).one()
    assert event.status == EventStatus.PROCESSED
