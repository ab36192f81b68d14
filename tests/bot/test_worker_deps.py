"""The bot serves with the worker runtime's `Deps`: its provider settings (read once, when
the runtime was built), its Redactor and its Redis client; no second Deps is made."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

import pipeline.redis_client
from bot.updates import BotProcessor
from pipeline.deps import Deps
from pipeline.payments import links
from pipeline.providers.settings_set import ProviderSettingsSet
from pipeline.telegram.repository import UpdateQueue
from schema import Product
from scripts.fakes.bot_api import FakeBotApiThread
from tests.bot.test_bot_flow import bot_env, fake
from tests.bot.test_shop_callbacks import CHAT, callback

__all__ = ["bot_env", "fake"]  # fixtures used below

YOOKASSA = {"YOOKASSA_SHOP_ID": "1001", "YOOKASSA_SECRET_KEY": "live_key"}


def test_the_bot_uses_the_worker_runtimes_deps_and_provider_settings(
    bot_env: sessionmaker[Session], fake: FakeBotApiThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.celery_app import app
    from workers.tasks.telegram import handle_chat_updates

    for name in YOOKASSA:
        monkeypatch.delenv(name, raising=False)
    app.reset_runtime()  # a worker process starting now: YooKassa not configured
    try:
        runtime = app.runtime
        processor = runtime.bot
        assert isinstance(processor, BotProcessor)
        assert processor.deps is runtime.deps
        worker_redis = runtime.deps.redis

        # Changed in the environment after the worker read it: the bot must not see it.
        for name, value in YOOKASSA.items():
            monkeypatch.setenv(name, value)
        assert links.available(ProviderSettingsSet.from_env())
        made: list[Any] = []
        connects: list[Any] = []
        init, connect = Deps.__init__, pipeline.redis_client.connect_redis

        def counted_init(self: Deps, *args: Any, **kwargs: Any) -> None:
            made.append(args)
            init(self, *args, **kwargs)

        def counted_connect(*args: Any, **kwargs: Any) -> Any:
            connects.append(args)
            return connect(*args, **kwargs)

        monkeypatch.setattr(Deps, "__init__", counted_init)
        monkeypatch.setattr(pipeline.redis_client, "connect_redis", counted_connect)

        with bot_env() as session:
            product = Product(code="p", title_ru="К", title_en="C", price_minor=100, stars_price=5)
            session.add(product)
            session.flush()
            UpdateQueue(session).add(1, CHAT, callback(1, f"buy:{product.id}"))
            session.commit()
        assert handle_chat_updates(CHAT) == 1  # the worker's task, through its runtime

        markup = json.dumps([m.get("reply_markup") for m in fake.sent()])
        assert f"pay:stars:{product.id}" in markup
        assert "pay:link:" not in markup  # the worker's provider settings: no YooKassa
        assert made == []  # no second Deps
        assert connects == []  # and no second Redis client
        bot_runtime = processor.runtime()
        assert bot_runtime.dispatcher["deps"] is runtime.deps
        assert runtime.deps.redis is worker_redis
    finally:
        app.reset_runtime()
    assert bot_runtime.loop.is_closed()  # the worker's runtime closed the bot's with it
