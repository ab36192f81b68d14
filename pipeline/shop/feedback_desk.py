"""Feedback and the assistant as the bot uses them within one update: the update's
session, the process's Redis, and the update's after-commit jobs (the caller commits)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy.orm import Session

from pipeline.assistant.service import Reply, assist
from pipeline.deps import Deps
from pipeline.shop import feedback
from pipeline.telegram.limiter import RateLimiter
from schema.messaging import FeedbackMessage
from schema.users import User

AfterCommit = Callable[[Callable[[], None]], None]


@dataclass
class FeedbackDesk:
    session: Session
    after_commit: AfterCommit
    deps: Deps

    @property
    def client(self) -> redis.Redis:
        return self.deps.redis

    def allowed(self, telegram_id: int) -> bool:
        """Within THROTTLE_FEEDBACK_PER_HOUR (each call spends one)."""
        per_hour = self.deps.settings.throttle_feedback_per_hour
        return feedback.allowed(RateLimiter(self.client), telegram_id, per_hour)

    def operator_copy(
        self, user: User, body: str, handoff: str | None = None, answer: str | None = None
    ) -> tuple[str, dict[str, Any]]:
        return feedback.operator_message(
            self.session, self.deps, user, body, handoff=handoff, answer=answer
        )

    def copy_sent(
        self,
        user: User,
        body: str,
        user_message_id: int,
        operators: int,
        operator_message_id: int,
        labels: dict[str, Any],
    ) -> FeedbackMessage:
        return feedback.relayed_copy_sent(
            self.session,
            user,
            body,
            user_message_id,
            operators,
            operator_message_id,
            labels,
            self.after_commit,
            self.deps,
        )

    def relayed(
        self, operator_chat_id: int, message_id: int
    ) -> tuple[FeedbackMessage, User] | None:
        """The user's message behind a copy in the operators' chat, and its author."""
        found = feedback.relayed(self.session, operator_chat_id, message_id)
        owner = self.session.get(User, found.user_id) if found is not None else None
        if found is None or owner is None:
            return None
        return found, owner

    def reply_sent(self, original: FeedbackMessage, body: str, message_id: int) -> None:
        feedback.record_reply(self.session, original, body, message_id)

    def ask_assistant(self, user: User, question: str) -> Reply:
        return assist(self.session, self.client, user, question, self.deps.settings)
