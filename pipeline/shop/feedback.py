"""Feedback: a user's message relayed to the operators' chat, and operators' replies back.

The bot's /feedback conversation (waiting for the message to relay) is an FSM state in
Redis (bot/fsm.py). Callers commit (the bot's per-update session).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from pipeline.deps import Deps
from pipeline.i18n import text as i18n_text
from pipeline.live.channel import Topic, announce
from pipeline.settings import Settings
from pipeline.shop import repository
from pipeline.telegram.limiter import Limit, RateLimiter
from pipeline.triage import labels as triage_labels
from pipeline.triage.alerting import check_urgent_complaints
from schema.messaging import FeedbackMessage
from schema.users import User


def allowed(limiter: RateLimiter, telegram_id: int, per_hour: int) -> bool:
    """`per_hour` (THROTTLE_FEEDBACK_PER_HOUR) relays per user, as a burst refilled over
    the hour."""
    limit = Limit(f"feedback:{telegram_id}", per_hour / 3600.0, per_hour)
    return limiter.try_acquire([limit]) == 0


def sender_name(user: User) -> str:
    return f"@{user.username}" if user.username else (user.first_name or str(user.telegram_id))


# What the relayed copy shows of the message, the assistant's answer and the draft: the
# whole stays under Telegram's 4096 characters.
SHOWN_BODY, SHOWN_CHARS = 2000, 800


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def operator_message(
    session: Session,
    deps: Deps,
    user: User,
    body: str,
    handoff: str | None = None,
    answer: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """The relayed copy for the operators' chat (who wrote, the text, its triage labels and
    reply draft, and why the assistant handed it off), and what is stored on the row."""
    labels = triage_labels.triage(session, deps.redis, body, user.language, deps.settings)
    if handoff is not None:
        labels["handoff"] = handoff
        labels["assistant_answer"] = answer
    lang = deps.settings.default_language
    lines = [
        i18n_text(
            lang,
            "feedback_from",
            who=sender_name(user),
            user_id=user.telegram_id,
            text=_clip(body, SHOWN_BODY),
        ),
        i18n_text(lang, "triage_line", labels=triage_labels.summary_line(labels)),
    ]
    if handoff is not None:
        lines.append(i18n_text(lang, "handoff_reason", reason=handoff))
        if answer:
            lines.append(i18n_text(lang, "handoff_answer", answer=_clip(answer, SHOWN_CHARS)))
    lines.append(i18n_text(lang, "triage_draft", draft=_clip(str(labels["draft"]), SHOWN_CHARS)))
    return "\n".join(lines), labels


def after_relay(session: Session, settings: Settings) -> None:
    """Urgent complaints piling up alert at once, not at the next alert job."""
    check_urgent_complaints(session, settings)


def relayed_copy_sent(
    session: Session,
    user: User,
    body: str,
    user_message_id: int | None,
    operators: int,
    operator_message_id: int,
    labels: dict[str, Any],
    after_commit: Callable[[Callable[[], None]], None],
    deps: Deps,
) -> FeedbackMessage:
    """What follows sending the operators their copy, from the bot or the Mini App: the
    row (with the triage labels), the urgent-complaints check, the console's live inbox."""
    item = record_incoming(
        session, user, body, user_message_id, operators, operator_message_id, triage=labels
    )
    after_relay(session, deps.settings)
    news = {"user_id": user.id, "id": item.id, "direction": "in", "text": body}
    after_commit(lambda: announce(deps, Topic.FEEDBACK, [news]))
    return item


def record_incoming(
    session: Session,
    user: User,
    text: str,
    user_message_id: int | None,
    operator_chat_id: int,
    operator_message_id: int | None,
    triage: dict[str, Any] | None = None,
) -> FeedbackMessage:
    item = FeedbackMessage(
        triage=triage,
        user_id=user.id,
        direction="in",
        text=text,
        user_chat_id=user.chat_id,
        user_message_id=user_message_id,
        operator_chat_id=operator_chat_id,
        operator_message_id=operator_message_id,
    )
    session.add(item)
    session.flush()
    return item


def relayed(session: Session, operator_chat_id: int, message_id: int) -> FeedbackMessage | None:
    """The user's message whose relayed copy in the operators' chat has this id."""
    return repository.relayed_message(session, operator_chat_id, message_id)


def record_reply(
    session: Session, original: FeedbackMessage, text: str, operator_message_id: int
) -> FeedbackMessage:
    item = FeedbackMessage(
        user_id=original.user_id,
        direction="out",
        text=text,
        user_chat_id=original.user_chat_id,
        operator_chat_id=original.operator_chat_id,
        operator_message_id=operator_message_id,
    )
    session.add(item)
    session.flush()
    return item
