"""Feedback threads as operators see them in the API, and replies written there.

Functions take the session and never commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from pipeline.notifications.outbox import add_notification
from pipeline.shop import repository
from schema.messaging import FeedbackMessage
from schema.users import User


def reply_from_console(
    session: Session, user: User, text: str, operator_chat_id: int
) -> FeedbackMessage:
    """An operator's reply written in the API/console: stored in the thread and sent to
    the user through the notification outbox (delivered by the workers after commit)."""
    item = FeedbackMessage(
        user_id=user.id,
        direction="out",
        text=text,
        user_chat_id=user.chat_id,
        operator_chat_id=operator_chat_id,
    )
    session.add(item)
    session.flush()
    add_notification(
        session,
        dedup_key=f"feedback-reply:{item.id}",
        chat_id=user.chat_id,
        kind="feedback_reply",
        user_id=user.id,
        text=text,
    )
    return item


def threads(session: Session, limit: int, before_message_id: int | None) -> list[dict[str, Any]]:
    """One row per user who wrote, newest conversation first."""
    return [
        {
            "user_id": user.id,
            "username": user.username,
            "first_name": user.first_name,
            "messages": messages,
            "last_id": message.id,
            "last_text": message.text,
            "last_direction": message.direction,
            "last_at": message.created_at,
        }
        for message, user, messages in repository.latest_feedback_threads(
            session, limit, before_message_id
        )
    ]
