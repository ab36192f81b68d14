"""The dashboard in a real browser: figures from real rows, charts drawn by the vendored
uPlot, each figure a link to the list behind it; desktop and phone, light and dark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.runtime import ApiRuntime
from schema.operations import Alert, BackupRun
from tests.api.console.conftest import open_page
from tests.api.console.support import add_event, shot, start_session, wait_until


def _history(db: sessionmaker[Session], engine: Engine) -> None:
    now = datetime.now(UTC)
    for minute in range(0, 55, 3):
        at = now - timedelta(minutes=minute)
        for source, status in (("stripe", "processed"), ("telegram", "processed")):
            add_event(db, engine, source=source, status=status, received_at=at,
                      processed_at=at + timedelta(milliseconds=150 + minute * 10))  # fmt: skip
        if minute % 9 == 0:
            add_event(db, engine, source="yookassa", status="dead", received_at=at)
        if minute % 12 == 0:
            add_event(db, engine, source="stripe", status="failed", received_at=at)
    with db.begin() as session:
        session.add(
            Alert(key="queue:ingest", status="firing", text="ingest queue is 12 minutes behind",
                  total=3, first_at=now - timedelta(minutes=20), last_at=now)
        )  # fmt: skip
        session.add(
            BackupRun(started_at=now - timedelta(hours=3), finished_at=now - timedelta(hours=3),
                      ok=True, file="pipeline-1.dump", size_bytes=48_000_000,
                      verified_at=now - timedelta(hours=2))
        )  # fmt: skip


def test_dashboard_figures_charts_and_links(
    broker_url: str,
    console_url: str,
    served_runtime: ApiRuntime,
    browser: Any,
    db: sessionmaker[Session],
    engine: Engine,
) -> None:
    _history(db, engine)
    who = start_session(served_runtime, "viewer")
    page = open_page(browser, console_url, who)
    page.wait_for_selector("#chart-source canvas")
    page.wait_for_selector("#chart-status canvas")
    figure = page.locator("[data-figure=dead] .figure-value").inner_text()
    assert figure == "7"
    assert page.locator("[data-figure=alerts] .figure-value").inner_text() == "1"
    assert "verified" in page.locator("[data-figure=backup]").inner_text()
    assert "s" in page.locator("[data-figure=latency] .figure-value").inner_text()
    assert page.locator("[data-figure=queue] .figure-value").inner_text() == "0"
    shot(page, "dashboard")
    page.click("[data-figure=dead]")
    page.wait_for_selector("#events-table")
    assert "status=dead" in page.url and "range=1h" in page.url
    rows = page.locator("#events-table tr[data-event]")
    assert rows.count() == 7
    page.goto(console_url + "/admin/?window=day")
    page.wait_for_selector("#chart-status canvas")
    shot(page, "dashboard-day")
    dark = open_page(browser, console_url, who, dark=True)
    dark.wait_for_selector("#chart-status canvas")
    shot(dark, "dashboard-dark")
    phone = open_page(browser, console_url, who, phone=True)
    phone.wait_for_selector("#chart-status canvas")
    shot(phone, "dashboard-phone")
    phone_dark = open_page(browser, console_url, who, phone=True, dark=True)
    phone_dark.wait_for_selector("#chart-status canvas")
    shot(phone_dark, "dashboard-phone-dark")
    for p in (page, dark, phone, phone_dark):
        assert p.outside == [] and p.errors == []


@pytest.fixture
def short_cache(api_env: pytest.MonkeyPatch) -> None:
    """Figures cached for 1 s: the page refreshes every 5 s (its floor)."""
    api_env.setenv("API_CACHE_TTL_S", "1")


def test_the_dashboard_refreshes_itself(
    short_cache: None,
    console_url: str,
    served_runtime: ApiRuntime,
    browser: Any,
    db: sessionmaker[Session],
    engine: Engine,
) -> None:
    who = start_session(served_runtime, "viewer")
    page = open_page(browser, console_url, who)
    page.wait_for_selector("#chart-source .chart-empty")
    assert page.inner_text("[data-figure=events] .figure-value") == "0"
    add_event(db, engine, status="dead")
    wait_until(lambda: page.inner_text("[data-figure=events] .figure-value") == "1", 30)
    page.wait_for_selector("#chart-source canvas")
    assert page.inner_text("[data-figure=dead] .figure-value") == "1"
    assert page.errors == []
