"""/feedback: the user's next message goes to the operators' chat (an FSM state in
Redis, expiring after bot.fsm.STATE_TTL_S); a reply to that relayed message in the
operators' chat goes back to the user."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from loguru import logger

from bot.fsm import Feedback
from bot.i18n import t
from bot.middlewares import from_customer
from pipeline.i18n import text
from pipeline.settings import Settings
from pipeline.shop.feedback_desk import FeedbackDesk
from pipeline.shop.storefront import Storefront
from schema.messaging import FeedbackMessage
from schema.users import User


async def ask(message: Message, state: FSMContext, settings: Settings) -> None:
    if settings.operator_chat_id is None:
        await message.answer(t("feedback_unavailable"))
        return
    await state.set_state(Feedback.message)
    await message.answer(t("feedback_prompt"))


async def relay(
    message: Message,
    bot: Bot,
    state: FSMContext,
    user: User,
    feedback: FeedbackDesk,
    settings: Settings,
) -> None:
    await state.clear()
    operators = settings.operator_chat_id
    if operators is None:
        return
    if not feedback.allowed(user.telegram_id):
        await message.answer(t("feedback_throttled"))
        return
    body = message.text or message.caption or ""
    await forward(bot, feedback, user, body, message.message_id, operators)
    await message.answer(t("feedback_sent"))


async def forward(
    bot: Bot,
    feedback: FeedbackDesk,
    user: User,
    body: str,
    user_message_id: int,
    operators: int,
    handoff: str | None = None,
    answer: str | None = None,
) -> FeedbackMessage:
    """To the operators' chat with triage labels (and the assistant's hand-off, if any)."""
    header, labels = feedback.operator_copy(user, body, handoff=handoff, answer=answer)
    sent = await bot.send_message(operators, header)
    return feedback.copy_sent(user, body, user_message_id, operators, sent.message_id, labels)


async def reply(
    message: Message, bot: Bot, feedback: FeedbackDesk, shop: Storefront, settings: Settings
) -> None:
    """An operator answered a relayed message (by replying to it)."""
    original = message.reply_to_message
    if original is None:
        return
    found = feedback.relayed(message.chat.id, original.message_id)
    if found is None:
        return  # operators talking among themselves
    item, owner = found
    body = message.text or message.caption or ""
    try:
        # The user's language, not the operators' chat's.
        await bot.send_message(item.user_chat_id, text(owner.language, "operator_reply", text=body))
    except TelegramForbiddenError:
        shop.deactivate(owner)
        await message.reply(text(settings.default_language, "feedback_user_blocked"))
        return
    except TelegramBadRequest as exc:
        logger.warning("operator reply to {} not delivered: {}", item.user_chat_id, exc)
        return
    feedback.reply_sent(item, body, message.message_id)


def _in_operator_chat(message: Message, settings: Settings) -> bool:
    return message.chat.id == settings.operator_chat_id


def _not_a_command(message: Message) -> bool:
    return not (message.text or "").startswith("/")


def create_router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    router = Router(name="feedback")
    router.message.register(reply, _in_operator_chat, F.reply_to_message)
    router.message.register(ask, Command("feedback"), from_customer)
    router.message.register(
        relay, Feedback.message, from_customer, _not_a_command, F.text | F.caption
    )
    return router
