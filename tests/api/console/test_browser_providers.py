"""The providers page in a real browser: every registered provider with its route and
verification, and the health figures of the one that received events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.runtime import ApiRuntime
from pipeline.providers.registry import build_registry
from pipeline.settings import get_settings
from tests.api.console.conftest import open_page
from tests.api.console.support import add_event, shot, start_session


def test_providers_are_listed_with_their_health(
    console_url: str,
    served_runtime: ApiRuntime,
    browser: Any,
    db: sessionmaker[Session],
    engine: Engine,
) -> None:
    for status in ("processed", "processed", "processed", "dead"):
        add_event(db, engine, source="stripe", status=status)
    who = start_session(served_runtime, "viewer")
    page = open_page(browser, console_url, who, path="/admin/providers")
    cards = page.locator("#providers [data-provider]")
    assert cards.count() == len(build_registry(get_settings()))
    stripe = page.locator("[data-provider=stripe]")
    assert "/webhooks/stripe" in stripe.locator("[data-test=route]").inner_text()
    assert stripe.locator("[data-test=events]").inner_text() == "4"
    assert stripe.locator("[data-test=errors]").inner_text() == "25.0%"
    shot(page, "providers")
    stripe.locator("[data-test=errors] a").click()
    page.wait_for_selector("#events-table")
    assert page.locator("#events-table tr[data-event]").count() == 1
    phone = open_page(browser, console_url, who, path="/admin/providers", phone=True, dark=True)
    phone.wait_for_selector("#providers")
    shot(phone, "providers-phone-dark")
    assert page.errors == [] and phone.errors == []
