"""The feedback inbox for the console: threads with an unread mark, and one thread.

A thread is unread while its last message is the customer's (nobody has answered yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from pipeline.backoffice import repository
from pipeline.shop.feedback_threads import threads
from schema.messaging import FeedbackMessage
from schema.users import User

PAGE = 50
SHOWN = 200


@dataclass
class Thread:
    user: User
    messages: list[FeedbackMessage]


def inbox(
    session: Session, before_id: int | None = None, limit: int = PAGE
) -> tuple[list[dict[str, Any]], int | None]:
    """Newest conversation first, each with `unread`; the id to continue below."""
    rows = threads(session, limit + 1, before_id)
    more = len(rows) > limit
    rows = [{**row, "unread": row["last_direction"] == "in"} for row in rows[:limit]]
    return rows, (rows[-1]["last_id"] if more and rows else None)


def thread(session: Session, user_id: int) -> Thread | None:
    user = session.get(User, user_id)
    if user is None:
        return None
    return Thread(user, repository.latest_feedback(session, user_id, SHOWN))


def customer(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def message(session: Session, message_id: int) -> FeedbackMessage | None:
    return session.get(FeedbackMessage, message_id)
