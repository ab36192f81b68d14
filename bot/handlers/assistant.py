"""Free text in a private chat that no command or conversation took: the assistant
answers from the shop's knowledge, or hands the question to the operators. Registered
after every other message handler, so commands and the feedback conversation win."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import Message

from bot.handlers.feedback import forward
from pipeline.i18n import text
from pipeline.settings import Settings
from pipeline.shop.feedback_desk import FeedbackDesk
from schema.users import User


async def answer(
    message: Message, bot: Bot, user: User, feedback: FeedbackDesk, settings: Settings
) -> None:
    question = message.text or ""
    reply = feedback.ask_assistant(user, question)
    if reply.handoff is None:
        await message.answer(reply.text)
        return
    # The assistant's language: it answers in the language of the question.
    operators = settings.operator_chat_id
    if operators is None:
        await message.answer(text(reply.language, "assistant_no_answer"))
        return
    if not feedback.allowed(user.telegram_id):
        await message.answer(text(reply.language, "feedback_throttled"))
        return
    await forward(
        bot,
        feedback,
        user,
        question,
        message.message_id,
        operators,
        handoff=reply.handoff,
        answer=reply.draft,
    )
    await message.answer(text(reply.language, "assistant_handoff"))


def create_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="assistant")
    router.message.register(answer, F.chat.type == "private", F.text, ~F.text.startswith("/"))
    return router
