"""The bot does not answer a user an operator blocked, and answers again once unblocked."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.shop import blocking
from schema import FeedbackMessage, User
from scripts.fakes.bot_api import FakeBotApiThread
from tests.bot.test_bot_flow import bot_env, fake, feed, message

__all__ = ["bot_env", "fake"]  # fixtures, for pytest


def _set_blocked(db: sessionmaker[Session], telegram_id: int, blocked: bool) -> None:
    with db() as session:
        user = session.scalars(select(User).where(User.telegram_id == telegram_id)).one()
        if blocked:
            blocking.block(user, "ops@example.com", "spam")
        else:
            blocking.unblock(user)
        session.commit()


def test_a_blocked_users_updates_get_no_answer_until_unblocked(
    bot_env: sessionmaker[Session], fake: FakeBotApiThread
) -> None:
    feed(bot_env, message(1, 601, "/start", "en"))
    answered = len(fake.sent())
    assert answered > 0
    _set_blocked(bot_env, 601, True)
    feed(
        bot_env,
        message(2, 601, "/start", "en"),
        message(3, 601, "/catalog", "en"),
        message(4, 601, "Where is my order?", "en"),
    )
    assert len(fake.sent()) == answered  # nothing said, nothing handled
    with bot_env() as session:
        assert session.scalars(select(FeedbackMessage)).all() == []
    _set_blocked(bot_env, 601, False)
    feed(bot_env, message(5, 601, "/start", "en"))
    assert len(fake.sent()) > answered
