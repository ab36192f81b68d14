"""The operator relay both ways, through the receiver and a worker process."""

from __future__ import annotations

import pytest

from tests.bot.test_feedback import operator_reply
from tests.flows.conftest import Flow, message, next_id
from tests.flows.conftest import chat as chat_id
from tests.support.processes import wait_until

pytestmark = pytest.mark.process
OPERATORS = -100500  # OPERATOR_CHAT_ID of the flow's processes


def test_feedback_reaches_the_operators_and_their_reply_the_user(flow: Flow) -> None:
    chat = chat_id(201)
    flow.update(message(next_id(), chat, "/feedback"))
    flow.wait_text(chat, "Write your message")
    flow.update(message(next_id(), chat, "Where is my order?"))
    relayed = flow.wait_text(OPERATORS, "Where is my order?")
    assert f"id {chat}" in relayed
    flow.wait_text(chat, "Sent. The operators will answer here.")
    # The bot answers "Sent" inside the update's handler; the row commits right after it.
    relayed_sql = "SELECT operator_message_id FROM feedback_messages WHERE user_chat_id = :c"
    wait_until(lambda: flow.scalar(relayed_sql, c=chat) is not None, 30, "the relayed copy")
    relayed_id = flow.scalar(relayed_sql, c=chat)
    reply = operator_reply(next_id(), int(relayed_id), "It ships today")
    reply["message"]["chat"]["id"] = OPERATORS
    reply["message"]["reply_to_message"]["chat"]["id"] = OPERATORS
    flow.update(reply)
    flow.wait_text(chat, "Reply from the operators:\nIt ships today")
    wait_until(
        lambda: (
            flow.scalar(
                "SELECT count(*) FROM feedback_messages "
                "WHERE user_chat_id = :c AND direction = 'out'",
                c=chat,
            )
            == 1
        ),
        10,
        "the reply to be recorded",
    )
