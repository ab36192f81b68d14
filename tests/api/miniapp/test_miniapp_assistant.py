"""The shop's assistant in the Mini App: FAQ answers in ru and en, the buyer's own orders
only (checked on what the fake AI provider received), hand-offs relayed to the operators
with their reason and recorded as the bot records them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from pipeline.settings import get_settings
from schema import FeedbackMessage
from scripts.fakes.bot_api import FakeBotApiThread
from scripts.fakes.openai import FakeOpenAiThread
from tests.api.miniapp.miniapp_support import bot_api, tma
from tests.pipeline.ai.conftest import seed

__all__ = ["bot_api"]  # fixtures, for pytest
ASK = "/api/v1/miniapp/assistant"
ANN, BOB = 801, 802  # the buyers seed() makes; Ann's order is paid, Bob's pending


@pytest.fixture
def shop(db: sessionmaker[Session], bot_api: FakeBotApiThread) -> sessionmaker[Session]:
    with db() as session:
        seed(session)
        session.commit()
    return db


@pytest.fixture
def client(shop: sessionmaker[Session], api_env: pytest.MonkeyPatch) -> Iterator[TestClient]:
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as api:
        yield api


@pytest.fixture
def model() -> Iterator[FakeOpenAiThread]:
    server = FakeOpenAiThread()
    yield server
    server.stop()


def test_faq_answers_in_russian_and_english_without_a_provider(
    client: TestClient, bot_api: FakeBotApiThread
) -> None:
    ru = client.post(ASK, headers=tma(ANN, "ru"), json={"text": "Сколько идёт доставка?"})
    en = client.post(ASK, headers=tma(BOB), json={"text": "How long does delivery take?"})
    assert ru.status_code == en.status_code == 200, ru.text + en.text
    assert ru.json() == {
        "answer": "Доставка по России занимает 3–5 рабочих дней.",
        "language": "ru",
        "handed_off": False,
    }
    assert en.json()["answer"] == "Delivery takes 3 to 5 business days."
    assert bot_api.sent() == []  # nothing reached the operators
    assert client.post(ASK, headers=tma(ANN), json={"text": ""}).status_code == 422
    assert client.post(ASK, json={"text": "hi"}).status_code == 401


def test_a_handoff_reaches_the_operators_and_is_recorded(
    client: TestClient, bot_api: FakeBotApiThread, shop: sessionmaker[Session]
) -> None:
    answer = client.post(ASK, headers=tma(BOB), json={"text": "Do you sell umbrellas?"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "answer": "I have passed your question to the operators; they will answer here.",
        "language": "en",
        "handed_off": True,
    }
    [relayed] = bot_api.sent()
    assert relayed["chat_id"] == -100777
    text = str(relayed["text"])
    assert text.startswith("Mini App · ") and "Do you sell umbrellas?" in text
    assert "no FAQ answer good enough" in text and "Suggested reply:" in text
    with shop() as session:
        row = session.execute(select(FeedbackMessage)).scalar_one()
    assert row.text == "Do you sell umbrellas?" and row.direction == "in"
    assert row.triage is not None and row.triage["handoff"].startswith("no FAQ answer")
    assert row.operator_message_id is not None


def test_an_order_question_uses_the_buyers_own_orders_only(
    client: TestClient,
    model: FakeOpenAiThread,
    bot_api: FakeBotApiThread,
    api_env: pytest.MonkeyPatch,
) -> None:
    api_env.setenv("AI_BASE_URL", model.url)
    api_env.setenv("AI_API_KEY", "sk-fake")
    api_env.setenv("AI_RETRY_BASE_S", "0")
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as api:
        question = {"text": "What is the status of order o-bbbbbbbbbbbb? And mine?"}
        answer = api.post(ASK, headers=tma(ANN), json=question)
    assert answer.status_code == 200, answer.text
    assert answer.json()["handed_off"] is False and "status: paid" in answer.json()["answer"]
    received = "\n".join(model.received())
    assert "order:o-aaaaaaaaaaaa" in received
    assert "order:o-bbbbbbbbbbbb" not in received and "pending" not in received


def test_without_an_operator_chat_the_buyer_is_told_plainly(
    client: TestClient, bot_api: FakeBotApiThread, api_env: pytest.MonkeyPatch
) -> None:
    api_env.delenv("OPERATOR_CHAT_ID")
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as api:
        answer = api.post(ASK, headers=tma(BOB), json={"text": "Do you sell umbrellas?"})
    assert answer.status_code == 200 and answer.json()["handed_off"] is False
    assert bot_api.sent() == []
