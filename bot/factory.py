"""All wiring of the bot in one place: storage, language, middlewares, routers."""

from __future__ import annotations

from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.utils.i18n import I18n
from sqlalchemy.orm import Session, sessionmaker

from bot.fsm import storage_for
from bot.handlers import assistant, fallback, feedback, miniapp, orders, shop, start
from bot.i18n import UserLocale, make_i18n
from bot.middlewares import BlockedUserMiddleware, ThrottlingMiddleware, UserMiddleware
from bot.plugins import plugin_routers
from pipeline.deps import Deps
from pipeline.telegram.limiter import RateLimiter


def create_dispatcher(
    sessions: sessionmaker[Session],
    limiter: RateLimiter | None,
    storage: BaseStorage | None = None,
    i18n: I18n | None = None,
    *,
    deps: Deps,
) -> Dispatcher:
    """`deps`: the bot process's (its Redis client serves feedback and the assistant, its
    settings reach every handler as `settings`, itself as `deps`: the provider settings
    and adapters the shop's handlers use)."""
    settings = deps.settings
    storage = storage if storage is not None else storage_for(settings)
    dp = Dispatcher(storage=storage, settings=settings, deps=deps)
    # Outermost: a blocked user's update is dropped before throttling or any handler.
    dp.update.outer_middleware(BlockedUserMiddleware(sessions))
    if limiter is not None:
        dp.message.outer_middleware(ThrottlingMiddleware(limiter, settings))
    user = UserMiddleware(sessions, deps)
    locale = UserLocale(i18n or make_i18n(settings.default_language))
    for observer in (dp.message, dp.callback_query, dp.pre_checkout_query):
        observer.middleware(user)  # inner middlewares run in this order:
        observer.middleware(locale)  # the locale needs the user's stored language
    # Feedback first: operator replies and the awaited message win over other handlers.
    # Plugins' commands come before the assistant, which takes any free text left, and
    # the fallback answers buttons nobody took.
    dp.include_routers(
        feedback.create_router(),
        start.create_router(),
        shop.create_router(),
        orders.create_router(),
        miniapp.create_router(),
        *plugin_routers(),
        assistant.create_router(),
        fallback.create_router(),
    )
    return dp
