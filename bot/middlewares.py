"""Middlewares: the user and the shop's services per update, and anti-flood throttling.

Handlers get typed services from the update's data (`shop: Storefront`,
`feedback: FeedbackDesk`, `user: User`, `lang: str`), never the session itself: every
query lives in pipeline/, and the update's unit of work is committed here, once per update."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramForbiddenError
from aiogram.types import Chat, Message, TelegramObject
from aiogram.types import User as TgUser
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.i18n import pick_language, text
from pipeline.settings import Settings
from pipeline.shop import blocking
from pipeline.shop.feedback_desk import FeedbackDesk
from pipeline.shop.service import deactivate, register_user
from pipeline.shop.storefront import Storefront
from pipeline.telegram.limiter import Limit, RateLimiter
from pipeline.unit_of_work import unit_of_work
from schema.users import User

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def _register(session: Session, tg_user: TgUser, chat: Chat | None, default_language: str) -> User:
    return register_user(
        session,
        tg_user.id,
        chat.id if chat else tg_user.id,
        tg_user.username,
        tg_user.first_name,
        tg_user.language_code,
        default_language,
    )


def customer_chat(chat: Chat | None) -> bool:
    """Only private chats (or none: a pre-checkout query) make customers: an operator
    writing in the operators' group must not become a user whose chat is that group."""
    return chat is None or chat.type == "private"


async def from_customer(
    _event: TelegramObject, event_chat: Chat | None = None, event_from_user: TgUser | None = None
) -> bool:
    """Filter for handlers that need `user`: elsewhere (a group, a channel) the update
    goes on to the next router, and a button ends at the fallback's polite answer."""
    return event_from_user is not None and customer_chat(event_chat)


class UserMiddleware(BaseMiddleware):
    """Opens the update's session, registers the user, hands the handler its services,
    commits after the handler and then runs the after-commit jobs."""

    def __init__(self, sessions: sessionmaker[Session], deps: Deps) -> None:
        self.sessions = sessions
        self.deps = deps
        self.default_language = deps.settings.default_language

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        chat = data.get("event_chat")
        try:
            with unit_of_work(self.sessions, self.deps) as uow:
                data["shop"] = Storefront(uow.session)
                data["feedback"] = FeedbackDesk(uow.session, uow.after_commit, uow.deps)
                if tg_user is not None and customer_chat(chat):
                    data["user"] = _register(uow.session, tg_user, chat, self.default_language)
                return await handler(event, data)
        except TelegramForbiddenError:
            # The user blocked the bot mid-conversation: the update's writes and jobs are
            # dropped; what is known of the user is kept, marked inactive.
            if tg_user is not None and "user" in data:
                with unit_of_work(self.sessions, self.deps) as uow:
                    deactivate(_register(uow.session, tg_user, chat, self.default_language))
            return None


class BlockedUserMiddleware(BaseMiddleware):
    """Drops every update of a user an operator blocked (pipeline.shop.blocking) before
    anything else sees it: no handler runs and nothing is answered, not even the
    anti-flood warning."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is not None:
            with self.sessions() as session:
                if blocking.is_blocked(session, tg_user.id):
                    return None
        return await handler(event, data)


class ThrottlingMiddleware(BaseMiddleware):
    """Limits each user's messages (Redis, shared by all workers) and says so politely."""

    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        self.limiter = limiter
        self.settings = settings

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        if isinstance(event, Message) and user is not None:
            s = self.settings
            limit = Limit(f"user:{user.id}", s.throttle_messages_per_s, s.throttle_burst)
            if self.limiter.try_acquire([limit]) > 0:
                warned = Limit(f"user-warned:{user.id}", 0.2)
                if self.limiter.try_acquire([warned]) == 0:
                    # Outer: before the user is loaded, so Telegram's language decides.
                    lang = pick_language(user.language_code, s.default_language)
                    await event.answer(text(lang, "throttled"))
                return None
        return await handler(event, data)
