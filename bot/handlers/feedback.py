"""/feedback: the user's next message goes to the operators' chat; a reply to that relayed
message in the operators' chat goes back to the user."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command
from aiogram.types import Message
from loguru import logger
from sqlalchemy.orm import Session

from pipeline.i18n import text
from pipeline.redis_client import redis_client
from pipeline.settings import get_settings
from pipeline.shop import feedback as service
from pipeline.shop.service import deactivate
from pipeline.telegram.limiter import RateLimiter
from schema.messaging import FeedbackMessage
from schema.users import User


def _operator_chat() -> int | None:
    return get_settings().operator_chat_id


async def ask(message: Message, user: User, lang: str) -> None:
    if _operator_chat() is None:
        await message.answer(text(lang, "feedback_unavailable"))
        return
    service.start_waiting(redis_client(), user.telegram_id)
    await message.answer(text(lang, "feedback_prompt"))


async def waiting(message: Message) -> bool:
    """Filter: a plain message from a user who asked to write to the operators. Filters
    run before the user middleware, so this goes by the Telegram user id."""
    if message.from_user is None or (message.text or "").startswith("/"):
        return False
    return service.is_waiting(redis_client(), message.from_user.id)


async def relay(
    message: Message,
    bot: Bot,
    session: Session,
    user: User,
    lang: str,
    after_commit: Callable[[Callable[[], None]], None],
) -> None:
    operators = _operator_chat()
    service.stop_waiting(redis_client(), user.telegram_id)
    if operators is None:
        return
    if not service.allowed(RateLimiter(redis_client()), user.telegram_id):
        await message.answer(text(lang, "feedback_throttled"))
        return
    body = message.text or message.caption or ""
    await forward(bot, session, user, body, message.message_id, operators, after_commit)
    await message.answer(text(lang, "feedback_sent"))


async def forward(
    bot: Bot,
    session: Session,
    user: User,
    body: str,
    user_message_id: int,
    operators: int,
    after_commit: Callable[[Callable[[], None]], None],
    handoff: str | None = None,
    answer: str | None = None,
) -> FeedbackMessage:
    """To the operators' chat with triage labels (and the assistant's hand-off, if any)."""
    header, labels = service.operator_message(
        session, redis_client(), user, body, handoff=handoff, answer=answer
    )
    sent = await bot.send_message(operators, header)
    return service.relayed_copy_sent(
        session, user, body, user_message_id, operators, sent.message_id, labels, after_commit
    )


async def reply(message: Message, bot: Bot, session: Session) -> None:
    """An operator answered a relayed message (by replying to it)."""
    original = message.reply_to_message
    if original is None:
        return
    found = service.relayed(session, message.chat.id, original.message_id)
    if found is None:
        return  # operators talking among themselves
    owner = session.get(User, found.user_id)
    if owner is None:
        return
    body = message.text or message.caption or ""
    try:
        await bot.send_message(
            found.user_chat_id, text(owner.language, "operator_reply", text=body)
        )
    except TelegramForbiddenError:
        deactivate(owner)
        await message.reply(text(get_settings().default_language, "feedback_user_blocked"))
        return
    except TelegramBadRequest as exc:
        logger.warning("operator reply to {} not delivered: {}", found.user_chat_id, exc)
        return
    service.record_reply(session, found, body, message.message_id)


def _in_operator_chat(message: Message) -> bool:
    return message.chat.id == _operator_chat()


def create_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="feedback")
    router.message.register(reply, _in_operator_chat, F.reply_to_message)
    router.message.register(ask, Command("feedback"))
    router.message.register(relay, waiting, F.text | F.caption)
    return router
