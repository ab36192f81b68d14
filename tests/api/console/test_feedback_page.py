"""The feedback inbox: unread marks, a thread with its triage labels, and a reply from the
page that the bot delivers (the outbox sent to the fake Bot API)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.notifications.sender import send_due
from pipeline.settings import get_settings
from pipeline.shop.feedback import relayed_copy_sent
from pipeline.telegram.api import BotApi
from pipeline.telegram.limiter import RateLimiter
from schema import FeedbackMessage, Notification, User
from scripts.fakes.bot_api import FakeBotApiThread
from tests.api.console.conftest import open_page, signed_in
from tests.api.console.support import Operator, shot, start_session
from tests.support.redis_clients import env_deps, env_redis

TRIAGE = {
    "topic": "delivery", "urgency": "high", "sentiment": "negative", "language": "en",
    "draft": "We are sorry for the wait; we are checking your order now.", "source": "keywords",
}  # fmt: skip


@pytest.fixture
def bot_api(api_env: pytest.MonkeyPatch) -> Iterator[FakeBotApiThread]:
    server = FakeBotApiThread()
    api_env.setenv("TELEGRAM_BOT_TOKEN", "777:console")
    api_env.setenv("TELEGRAM_API_BASE", server.url)
    yield server
    server.stop()


def threads(db: sessionmaker[Session]) -> tuple[int, int]:
    """Dan waits for an answer (unread); Eve was answered. Their ids."""
    with db() as session:
        dan = User(telegram_id=8001, chat_id=8001, first_name="Dan", username="dan")
        eve = User(telegram_id=8002, chat_id=8002, first_name="Eve")
        session.add_all([dan, eve])
        session.flush()
        session.add_all([
            FeedbackMessage(user_id=eve.id, direction="in", text="Thanks!", user_chat_id=8002,
                            operator_chat_id=-100),
            FeedbackMessage(user_id=eve.id, direction="out", text="You are welcome",
                            user_chat_id=8002, operator_chat_id=-100),
            FeedbackMessage(user_id=dan.id, direction="in", text="Where is my parcel? Angry!",
                            user_chat_id=8001, operator_chat_id=-100, triage=TRIAGE),
        ])  # fmt: skip
        session.commit()
        return dan.id, eve.id


def customer_writes(db: sessionmaker[Session], user_id: int, text: str) -> None:
    """What the bot does with a customer's message: stored, then announced after commit."""
    jobs: list[Callable[[], None]] = []
    with db() as session:
        user = session.get(User, user_id)
        assert user is not None
        relayed_copy_sent(session, user, text, None, -100, 1, {}, jobs.append, env_deps())
        session.commit()
    for job in jobs:
        job()


def test_inbox_roles_csrf_and_refusals_over_http(
    console_client: TestClient, db: sessionmaker[Session], operator: Callable[..., Operator]
) -> None:
    dan, eve = threads(db)
    client = signed_in(console_client, operator("viewer"))
    inbox = client.get("/admin/feedback").text
    # Newest conversation first.
    assert inbox.index(f'href="/admin/feedback/{dan}"') < inbox.index(
        f'href="/admin/feedback/{eve}"'
    )
    assert 'data-unread="yes"' in inbox and 'data-unread="no"' in inbox
    page = client.get(f"/admin/feedback/{dan}").text
    assert "urgency high" in page and "Use the draft" in page and "data-reply" not in page
    assert client.post(f"/admin/feedback/{dan}/reply", data={"text": "x"}).status_code == 403
    who = operator("operator")
    client = signed_in(console_client, who)
    assert client.post(f"/admin/feedback/{dan}/reply", data={"text": "hi"}).status_code == 403
    empty = client.post(f"/admin/feedback/{dan}/reply", data={"csrf_token": who.csrf})
    assert empty.status_code == 422
    with db() as session:
        user = session.get(User, eve)
        assert user is not None
        user.blocked = True
        session.commit()
    refused = client.post(
        f"/admin/feedback/{eve}/reply", data={"csrf_token": who.csrf, "text": "hello"}
    )
    assert refused.status_code == 409
    assert client.get("/admin/feedback/999999").status_code == 404
    with db() as session:
        assert session.scalars(select(Notification)).all() == []


def test_a_reply_from_the_page_reaches_the_customer(
    bot_api: FakeBotApiThread,
    db: sessionmaker[Session],
    console_url: str,
    served_runtime: Any,
    browser: Any,
) -> None:
    dan, eve = threads(db)
    who = start_session(served_runtime, "operator")
    page = open_page(browser, console_url, who, path="/admin/feedback")
    page.wait_for_selector("table[data-test=threads]")
    shot(page, "feedback-inbox")
    page.click("a:has-text('Dan')")
    page.wait_for_selector("[data-test=triage]")
    page.click("[data-use-draft]")
    assert page.input_value("[data-test=reply-text]") == TRIAGE["draft"]
    page.fill("[data-test=reply-text]", "Your parcel left today; tracking follows.")
    shot(page, "feedback-thread")
    page.click("[data-test=reply-send]")
    page.wait_for_selector(".bubble.out:has-text('Your parcel left today')")
    page.wait_for_selector(".toast:has-text('Reply sent')")
    assert page.input_value("[data-test=reply-text]") == ""
    shot(page, "feedback-replied")
    # The notification worker's step: the outbox row goes out through the Bot API.
    assert (
        send_due(
            db, BotApi(get_settings()), RateLimiter(env_redis()), budget_s=30, deps=Deps.build()
        )
        == 1
    )
    assert bot_api.sent() == [
        {"chat_id": 8001, "text": "Your parcel left today; tracking follows."}
    ]
    page.goto(f"{console_url}/admin/feedback")
    page.wait_for_selector("table[data-test=threads]")
    assert page.get_attribute(f"tr:has(a[href='/admin/feedback/{dan}'])", "data-unread") == "no"
    # A customer writes while the inbox is open: the list re-renders by itself.
    page.wait_for_selector("[data-live-dot].on")
    customer_writes(db, eve, "Is the shop open on Sunday?")
    page.wait_for_selector(f"tr[data-unread=yes]:has(a[href='/admin/feedback/{eve}'])")
    shot(page, "feedback-inbox-live")
    page.goto(f"{console_url}/admin/feedback/{dan}")
    page.wait_for_selector("[data-live-dot].on")
    customer_writes(db, dan, "Thank you!")
    page.wait_for_selector(".bubble.in:has-text('Thank you!')")
    phone = open_page(browser, console_url, who, path=f"/admin/feedback/{dan}", phone=True)
    phone.wait_for_selector("[data-test=thread]")
    shot(phone, "feedback-phone")
    dark = open_page(browser, console_url, who, path=f"/admin/feedback/{dan}", dark=True)
    dark.wait_for_selector("[data-test=triage]")
    shot(dark, "feedback-dark")
    assert page.outside == [] and page.errors == [] and phone.errors == [] and dark.errors == []
