"""The broadcasts pages: compose, preview (who it reaches), start, a progress bar moved by
the live WebSocket while the notification worker sends, and cancel."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.notifications.sender import send_due
from pipeline.settings import get_settings
from pipeline.telegram.api import BotApi
from pipeline.telegram.limiter import RateLimiter
from schema import Broadcast, User
from scripts.fakes.bot_api import FakeBotApiThread
from tests.api.console.conftest import open_page, signed_in
from tests.api.console.support import Operator, shot, start_session, wait_until
from tests.support.redis_clients import env_redis

RU = 12  # customers in Russian; one of them is blocked by an operator


@pytest.fixture
def bot_api(api_env: pytest.MonkeyPatch) -> Iterator[FakeBotApiThread]:
    server = FakeBotApiThread()
    api_env.setenv("TELEGRAM_BOT_TOKEN", "777:console")
    api_env.setenv("TELEGRAM_API_BASE", server.url)
    yield server
    server.stop()


def audience(db: sessionmaker[Session]) -> None:
    with db() as session:
        session.add_all(
            User(telegram_id=9100 + n, chat_id=9100 + n, language="ru", blocked=n == 0)
            for n in range(RU)
        )
        session.add_all(
            User(telegram_id=9200 + n, chat_id=9200 + n, language="en") for n in range(3)
        )
        session.commit()


def test_compose_checks_roles_and_csrf_over_http(
    console_client: TestClient, db: sessionmaker[Session], operator: Callable[..., Operator]
) -> None:
    audience(db)
    client = signed_in(console_client, operator("viewer"))
    page = client.get("/admin/broadcasts").text
    assert 'data-test="compose"' not in page  # a viewer sees, does not send
    assert client.post("/admin/broadcasts", data={"text": "x"}).status_code == 403
    who = operator("operator")
    client = signed_in(console_client, who)
    preview = client.post(
        "/admin/broadcasts/preview",
        data={"csrf_token": who.csrf, "text": "Sale", "language": "ru", "audience": "active"},
    )
    assert preview.status_code == 200 and f"<strong>{RU - 1}</strong>" in preview.text
    for bad in (
        {"text": ""},
        {"text": "x", "language": "russian"},
        {"text": "x", "audience": "vip"},
    ):
        answer = client.post("/admin/broadcasts", data={"csrf_token": who.csrf, **bad})
        assert answer.status_code == 422, bad
    assert client.post("/admin/broadcasts", data={"text": "no csrf"}).status_code == 403
    assert client.get("/admin/broadcasts/999").status_code == 404
    with db() as session:
        assert session.scalars(select(Broadcast)).all() == []


def test_a_broadcast_runs_to_the_end_on_the_progress_bar(
    bot_api: FakeBotApiThread,
    db: sessionmaker[Session],
    console_url: str,
    served_runtime: Any,
    browser: Any,
) -> None:
    audience(db)
    who = start_session(served_runtime, "operator")
    page = open_page(browser, console_url, who, path="/admin/broadcasts")
    page.wait_for_selector("h1:has-text('Broadcasts')")
    page.fill("[data-test=broadcast-text]", "Скидки до пятницы!\nЗаходите в магазин.")
    page.select_option("[data-test=broadcast-language]", "ru")
    shot(page, "broadcast-compose")
    page.click("[data-test=broadcast-preview-button]")
    page.wait_for_selector("dialog[data-test=broadcast-preview][open]")
    assert f"{RU - 1} customers" in page.inner_text("[data-test=reach]")
    shot(page, "broadcast-preview")
    page.click("[data-test=broadcast-start]")
    page.wait_for_selector("[data-test=broadcast-status]:has-text('running')")
    page.wait_for_selector("[data-live-dot].on")  # subscribed: from now on nothing is missed
    assert page.get_attribute("[data-test=progress]", "value") == "0"
    shot(page, "broadcast-started")
    # The notification worker's loop, in the background as in production.
    sender = threading.Thread(
        target=send_due,
        args=(db, BotApi(get_settings()), RateLimiter(env_redis())),
        kwargs={"deps": Deps.build()},
        daemon=True,
    )
    sender.start()
    page.wait_for_selector("[data-test=broadcast-status]:has-text('done')", timeout=60_000)
    sender.join(30)
    assert page.get_attribute("[data-test=progress]", "value") == str(RU - 1)
    assert page.inner_text("[data-field=sent]") == str(RU - 1)
    assert page.inner_text("[data-field=remaining]") == "0"
    assert page.locator("[data-test=broadcast-cancel]").count() == 0
    shot(page, "broadcast-done")
    assert sorted(c["chat_id"] for c in bot_api.sent()) == [9100 + n for n in range(1, RU)]
    assert page.outside == [] and page.errors == []


def test_an_operator_cancels_a_running_broadcast(
    db: sessionmaker[Session], console_url: str, served_runtime: Any, browser: Any
) -> None:
    audience(db)
    who = start_session(served_runtime, "operator")
    page = open_page(browser, console_url, who, path="/admin/broadcasts")
    page.fill("[data-test=broadcast-text]", "Never mind")
    page.click("[data-test=broadcast-preview-button]")
    page.click("[data-test=broadcast-start]")
    page.wait_for_selector("[data-test=broadcast-cancel]")
    page.click("[data-test=broadcast-cancel]")
    page.click("[data-test=confirm-ok]")
    page.wait_for_selector("[data-test=broadcast-status]:has-text('canceled')")
    total = RU - 1 + 3
    assert page.inner_text("[data-field=canceled]") == str(total)
    assert page.inner_text("[data-field=failed]") == "0"
    assert page.get_attribute("[data-test=progress]", "value") == "0"
    shot(page, "broadcast-canceled")
    dark = open_page(browser, console_url, who, path=page.url.removeprefix(console_url), dark=True)
    dark.wait_for_selector("[data-test=progress]")
    shot(dark, "broadcast-canceled-dark")
    with db() as session:
        wait_until(lambda: session.scalars(select(Broadcast.status)).one() == "canceled")
    phone = open_page(browser, console_url, who, path="/admin/broadcasts", phone=True)
    phone.wait_for_selector("table[data-test=broadcasts]")
    shot(phone, "broadcasts-phone")
    assert page.errors == [] and phone.errors == [] and dark.errors == []
