"""The events pages in a real browser against the served API with real PostgreSQL and
Redis: a new event appears in the list without a reload (the normal after-commit live
path: commit, announce_changes, Redis, /api/v1/ws with the session cookie); an event
replayed; dead events retried in bulk after a count; what a viewer may not do."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from api.runtime import ApiRuntime
from pipeline.deps import Deps
from pipeline.events.handlers import load_handler_modules
from pipeline.events.service import EventService, RetryPolicy
from pipeline.live.events import announce_changes
from pipeline.messaging.queues import INGEST, queue_name
from pipeline.messaging.urls import redis_py_url
from pipeline.providers.registry import build_registry
from pipeline.settings import get_settings
from schema.events import Event
from tests.api.console.conftest import open_page
from tests.api.console.support import add_event, shot, start_session, wait_until
from tests.pipeline.providers.cases import ENV, StripeCase
from tests.pipeline.providers.conftest import drain, running_receiver
from tests.support.redis_clients import env_deps


def _status(db: sessionmaker[Session], event_id: int) -> str:
    with db() as session:
        return session.get_one(Event, event_id).status


def test_a_new_event_appears_live_and_is_replayed(
    broker_url: str,
    console_url: str,
    served_runtime: ApiRuntime,
    browser: Any,
    db: sessionmaker[Session],
    engine: Engine,
) -> None:
    who = start_session(served_runtime, "operator")
    add_event(db, engine, source="telegram", type="message", status="processed")
    page = open_page(browser, console_url, who, path="/admin/events")
    loads: list[str] = []
    page.on("request", lambda r: loads.append(r.url) if r.resource_type == "document" else None)
    page.wait_for_selector("#live-dot.on")
    event_id = add_event(
        db,
        engine,
        status="dead",
        attempts=5,
        last_error="HTTPStatusError: 502 from the shop",
        payload={"id": "pi_live", "amount": 1999, "customer": {"email": "buyer@example.com"}},
    )
    page.wait_for_selector(f"tr[data-event='{event_id}'].row-new", timeout=15_000)
    assert loads == []  # no reload: htmx swapped the rows in
    shot(page, "events")
    page.click(f"tr[data-event='{event_id}'] a")
    page.wait_for_selector("[data-test=payload]")
    assert '"email": "buyer@example.com"' in page.inner_text("[data-test=payload]")
    assert "502 from the shop" in page.inner_text("main")
    shot(page, "event")
    page.click("[data-test=replay]")
    page.wait_for_selector("#confirm-dialog[open]")
    page.click("#confirm-dialog [data-test=confirm-ok]")
    page.wait_for_selector(".toast-success:has-text('queued for replay')")
    assert _status(db, event_id) == "received"
    forged = page.request.post(f"{console_url}/admin/events/{event_id}/replay")  # no token
    assert forged.status == 403
    client = redis.Redis.from_url(redis_py_url(broker_url))
    assert client.llen(queue_name(INGEST)) == 1
    assert page.outside == [] and page.errors == []


def test_dead_events_are_retried_in_bulk_after_a_count(
    broker_url: str,
    console_url: str,
    served_runtime: ApiRuntime,
    browser: Any,
    db: sessionmaker[Session],
    engine: Engine,
) -> None:
    who = start_session(served_runtime, "operator")
    dead = [add_event(db, engine, status="dead", attempts=5) for _ in range(3)]
    other = add_event(db, engine, source="telegram", type="message", status="dead")
    done = add_event(db, engine, status="processed")
    page = open_page(browser, console_url, who, path="/admin/events?source=stripe&status=dead")
    page.click("[data-test=bulk-retry]")
    dialog = page.wait_for_selector("#modal dialog[open]")
    assert "3 dead events match" in dialog.inner_text()
    shot(page, "events-bulk-retry")
    page.click("#modal [data-test=confirm-ok]")
    page.wait_for_selector(".toast-success:has-text('3 events queued for retry')")
    assert [_status(db, i) for i in dead] == ["received"] * 3
    assert (_status(db, other), _status(db, done)) == ("dead", "processed")
    assert redis.Redis.from_url(redis_py_url(broker_url)).llen(queue_name(INGEST)) == 3


def test_a_viewer_sees_no_replay_and_is_refused_anyway(
    console_url: str,
    served_runtime: ApiRuntime,
    browser: Any,
    db: sessionmaker[Session],
    engine: Engine,
) -> None:
    who = start_session(served_runtime, "viewer")
    event_id = add_event(db, engine, status="dead")
    page = open_page(browser, console_url, who, path=f"/admin/events/{event_id}")
    page.wait_for_selector("[data-test=payload]")
    assert page.locator("[data-test=replay]").count() == 0
    page.goto(console_url + "/admin/events?status=dead")
    assert page.locator("[data-test=bulk-retry]").count() == 0
    for url in (f"/admin/events/{event_id}/replay", "/admin/events/retry"):
        answer = page.request.post(
            console_url + url, form={"csrf_token": who.csrf, "status": "dead"}
        )
        assert answer.status == 403
    assert _status(db, event_id) == "dead"
    with db() as session:
        assert session.scalars(select(Event.status)).all() == ["dead"]


def test_pages_at_phone_width_and_in_dark(
    console_url: str,
    served_runtime: ApiRuntime,
    browser: Any,
    db: sessionmaker[Session],
    engine: Engine,
) -> None:
    who = start_session(served_runtime, "operator")
    event_id = add_event(db, engine, status="failed", attempts=2, last_error="timeout")
    add_event(db, engine, status="processed")
    page = open_page(browser, console_url, who, path="/admin/events", phone=True)
    page.wait_for_selector("#live-dot.on")
    shot(page, "events-phone")
    page = open_page(browser, console_url, who, path=f"/admin/events/{event_id}", phone=True)
    page.wait_for_selector("[data-test=payload]")
    shot(page, "event-phone")
    page = open_page(browser, console_url, who, path=f"/admin/events/{event_id}", dark=True)
    page.wait_for_selector("[data-test=payload]")
    shot(page, "event-dark")
    assert page.errors == []


def test_a_webhook_posted_to_the_receiver_shows_up_live(
    broker_url: str,
    api_env: pytest.MonkeyPatch,
    console_url: str,
    served_runtime: ApiRuntime,
    browser: Any,
    db: sessionmaker[Session],
    engine: Engine,
) -> None:
    """Signed Stripe webhook → receiver → broker → stored and handled as a worker does
    (then announced after commit): the row appears, then its status changes, live."""
    for name, value in ENV.items():
        api_env.setenv(name, value)
    get_settings.cache_clear()
    who = start_session(served_runtime, "viewer")
    page = open_page(browser, console_url, who, path="/admin/events?source=stripe")
    page.wait_for_selector("#live-dot.on")
    with running_receiver(broker_url) as (_, send):
        assert send(StripeCase().valid()).status_code == 200
    events = EventService(
        db,
        build_registry(get_settings()),
        load_handler_modules(grpc_sources=get_settings().grpc_sources),
        RetryPolicy(3),
        deps=Deps.build(),
    )
    stored = events.store(drain(broker_url))
    announce_changes(engine, env_deps())
    [event_id] = stored.to_process
    row = page.wait_for_selector(f"tr[data-event='{event_id}'] .badge", timeout=15_000)
    assert row.inner_text() == "received"
    events.process(stored.to_process)
    announce_changes(engine, env_deps())
    wait_until(
        lambda: (
            page.inner_text(f"tr[data-event='{event_id}'] .badge")
            == _status(db, event_id)
            != "received"
        )
    )
    shot(page, "events-from-receiver")
