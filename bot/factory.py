"""All wiring of the bot in one place: routers, middlewares, services."""

from __future__ import annotations

from aiogram import Dispatcher
from sqlalchemy.orm import Session, sessionmaker

from bot.handlers import assistant, feedback, miniapp, shop, start
from bot.middlewares import BlockedUserMiddleware, ThrottlingMiddleware, UserMiddleware
from pipeline.telegram.limiter import RateLimiter


def create_dispatcher(sessions: sessionmaker[Session], limiter: RateLimiter | None) -> Dispatcher:
    dp = Dispatcher()
    # Outermost: a blocked user's update is dropped before throttling or any handler.
    dp.update.outer_middleware(BlockedUserMiddleware(sessions))
    if limiter is not None:
        dp.message.outer_middleware(ThrottlingMiddleware(limiter))
    user = UserMiddleware(sessions)
    for observer in (dp.message, dp.callback_query, dp.pre_checkout_query):
        observer.middleware(user)
    # Feedback first: operator replies and the awaited message win over other handlers;
    # the assistant last: it takes only free text nothing else wanted.
    dp.include_routers(
        feedback.create_router(),
        start.create_router(),
        shop.create_router(),
        miniapp.create_router(),
        assistant.create_router(),
    )
    return dp
