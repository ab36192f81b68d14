"""Free text in a private chat that no command or conversation took: the assistant
answers from the shop's knowledge, or hands the question to the operators. Registered
last, so commands and the feedback conversation win."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import Bot, F, Router
from aiogram.types import Message
from sqlalchemy.orm import Session

from bot.handlers.feedback import forward
from pipeline.assistant.service import assist
from pipeline.i18n import text
from pipeline.redis_client import redis_client
from pipeline.settings import get_settings
from pipeline.shop import feedback
from pipeline.telegram.limiter import RateLimiter
from schema.users import User


async def answer(
    message: Message,
    bot: Bot,
    session: Session,
    user: User,
    after_commit: Callable[[Callable[[], None]], None],
) -> None:
    question = message.text or ""
    reply = assist(session, redis_client(), user, question)
    if reply.handoff is None:
        await message.answer(reply.text)
        return
    operators = get_settings().operator_chat_id
    if operators is None:
        await message.answer(text(reply.language, "assistant_no_answer"))
        return
    if not feedback.allowed(RateLimiter(redis_client()), user.telegram_id):
        await message.answer(text(reply.language, "feedback_throttled"))
        return
    await forward(
        bot,
        session,
        user,
        question,
        message.message_id,
        operators,
        after_commit,
        handoff=reply.handoff,
        answer=reply.draft,
    )
    await message.answer(text(reply.language, "assistant_handoff"))


def create_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="assistant")
    router.message.register(answer, F.chat.type == "private", F.text, ~F.text.startswith("/"))
    return router
