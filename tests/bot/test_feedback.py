"""/feedback: relay to the operators' chat, replies back to the user, the hourly limit."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from schema import FeedbackMessage, User
from scripts.fakes.bot_api import FakeBotApiThread, SlidingWindow
from tests.bot.test_bot_flow import bot_env, fake, feed, message, settings_changed  # noqa: F401

OPERATORS = -100777


@pytest.fixture
def operators(
    bot_env: sessionmaker[Session],  # noqa: F811
    fake: FakeBotApiThread,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> sessionmaker[Session]:
    monkeypatch.setenv("OPERATOR_CHAT_ID", str(OPERATORS))
    monkeypatch.setenv("THROTTLE_FEEDBACK_PER_HOUR", "2")
    monkeypatch.setenv("THROTTLE_BURST", "100")  # the anti-flood is not under test
    monkeypatch.setattr(fake.state, "chat_limit", SlidingWindow(1000))
    settings_changed(bot_env)
    return bot_env


def operator_reply(update_id: int, to_message_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1,
            "chat": {"id": OPERATORS, "type": "supergroup", "title": "Operators"},
            "from": {"id": 9001, "is_bot": False, "first_name": "Op"},
            "text": text,
            "reply_to_message": {
                "message_id": to_message_id,
                "date": 1,
                "chat": {"id": OPERATORS, "type": "supergroup", "title": "Operators"},
                "from": {"id": 777000, "is_bot": True, "first_name": "Shop"},
                "text": "relayed",
            },
        },
    }


def to_chat(fake: FakeBotApiThread, chat: int) -> list[str]:  # noqa: F811
    return [str(c["text"]) for c in fake.sent() if c["chat_id"] == chat]


def test_feedback_is_relayed_and_the_operator_reply_comes_back(
    operators: sessionmaker[Session],
    fake: FakeBotApiThread,  # noqa: F811
) -> None:
    feed(operators, message(1, 801, "/feedback", "ru"))
    assert to_chat(fake, 801) == ["Напишите сообщение — я передам его операторам."]
    feed(operators, message(2, 801, "Где мой заказ?", "ru"))
    relayed = to_chat(fake, OPERATORS)
    assert len(relayed) == 1 and "Где мой заказ?" in relayed[0] and "id 801" in relayed[0]
    assert to_chat(fake, 801)[-1] == "Отправлено. Операторы ответят здесь."
    # The next message is a normal one again: not relayed.
    feed(operators, message(3, 801, "спасибо", "ru"))
    assert len(to_chat(fake, OPERATORS)) == 1
    with operators() as session:
        item = session.execute(select(FeedbackMessage)).scalar_one()
        relayed_id = item.operator_message_id
        assert item.direction == "in" and relayed_id is not None
    feed(operators, operator_reply(4, relayed_id, "Уже едет"))
    assert to_chat(fake, 801)[-1] == "Ответ операторов:\nУже едет"
    with operators() as session:
        directions = session.execute(select(FeedbackMessage.direction)).scalars().all()
        assert sorted(directions) == ["in", "out"]
        # The operator did not become a customer whose chat is the operators' group.
        assert session.execute(select(User.telegram_id)).scalars().all() == [801]


def test_operators_talking_among_themselves_is_not_relayed(
    operators: sessionmaker[Session],
    fake: FakeBotApiThread,  # noqa: F811
) -> None:
    feed(operators, operator_reply(10, 424242, "internal note"))
    assert fake.sent() == []


def test_feedback_per_hour_limit_is_told_politely(
    operators: sessionmaker[Session],
    fake: FakeBotApiThread,  # noqa: F811
) -> None:
    for i in range(3):
        feed(operators, message(20 + 2 * i, 802, "/feedback", "en"))
        feed(operators, message(21 + 2 * i, 802, f"note {i}", "en"))
    assert len(to_chat(fake, OPERATORS)) == 2
    assert to_chat(fake, 802)[-1] == (
        "You have sent a lot of feedback recently; please try again later."
    )


def test_a_user_who_blocked_the_bot_mid_reply_is_kept_and_marked_inactive(
    bot_env: sessionmaker[Session],  # noqa: F811
    fake: FakeBotApiThread,  # noqa: F811
) -> None:
    fake.state.blocked.add(803)
    try:
        feed(bot_env, message(40, 803, "/start", "en"))
    finally:
        fake.state.blocked.clear()
    with bot_env() as session:
        user = session.execute(select(User).where(User.telegram_id == 803)).scalar_one()
        assert not user.is_active and user.blocked_at is not None
