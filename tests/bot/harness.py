"""Handlers driven through aiogram's `Dispatcher.feed_update`, the Bot API faked by respx
(an httpx session stands in for aiohttp so respx sees every call), conversation state
in the real Redis of TEST_REDIS_URL under a prefix of the test's own."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import pytest_asyncio
import respx
from aiogram import Bot, Dispatcher
from aiogram.client.session.base import BaseSession
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Update
from sqlalchemy.orm import Session, sessionmaker

from bot.factory import create_dispatcher
from bot.fsm import make_storage
from pipeline.deps import Deps
from pipeline.settings import get_settings
from tests.support.redis_clients import env_redis
from tests.support.services import TestServices

TOKEN = "123456:test-token"
BOT_ID = 123456
OPERATORS = -100777
API = "https://api.telegram.org"


class HttpxSession(BaseSession):
    """aiogram's session over httpx (aiogram ships aiohttp's, which respx cannot see)."""

    def __init__(self) -> None:
        super().__init__()
        self.client = httpx.AsyncClient()

    async def close(self) -> None:
        await self.client.aclose()

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        form: dict[str, str] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files={})
            if prepared:
                form[key] = str(prepared)
        response = await self.client.post(url, data=form)
        checked = self.check_response(
            bot=bot, method=method, status_code=response.status_code, content=response.text
        )
        return checked.result  # type: ignore[return-value]

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        """Files through the same (respx-faked) client as the methods."""
        async with self.client.stream("GET", url, headers=headers, timeout=timeout) as response:
            if raise_for_status:
                response.raise_for_status()
            async for chunk in response.aiter_bytes(chunk_size):
                yield chunk


@dataclass
class FakeBotApi:
    """What the bot sent, by method; chats in `blocked` answer 403 as Telegram does."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    blocked: set[int] = field(default_factory=set)
    next_id: int = 1000

    def respond(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        params: dict[str, Any] = {}
        for key, value in parse_qsl(request.content.decode(), keep_blank_values=True):
            try:
                params[key] = json.loads(value) if value[:1] in "{[" else value
            except ValueError:
                params[key] = value
        self.calls.append((method, params))
        chat = int(params.get("chat_id", 0) or 0)
        if chat in self.blocked:
            error = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"}
            return httpx.Response(403, json=error)
        if method.startswith("send"):
            self.next_id += 1
            kind = "private" if chat > 0 else "supergroup"
            result: Any = {
                "message_id": self.next_id,
                "date": 1,
                "chat": {"id": chat, "type": kind, "title": "x"},
                "text": params.get("text", ""),
            }
        elif method == "getMe":
            result = {"id": BOT_ID, "is_bot": True, "first_name": "Shop", "username": "shop_bot"}
        else:
            result = True
        return httpx.Response(200, json={"ok": True, "result": result})

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    def texts(self, chat: int | None = None) -> list[str]:
        return [
            str(p.get("text")) for p in self.sent() if chat is None or int(p["chat_id"]) == chat
        ]

    def answers(self) -> list[str | None]:
        return [p.get("text") for p in self.sent("answerCallbackQuery")]


@dataclass
class BotHarness:
    bot: Bot
    dp: Dispatcher
    api: FakeBotApi
    storage: RedisStorage
    prefix: str
    db: sessionmaker[Session]

    def settings_changed(self) -> None:
        """Read the environment again and make the dispatcher from it (its handlers use the
        settings of the process's Deps), keeping the conversations' storage."""
        get_settings.cache_clear()
        self.dp = create_dispatcher(self.db, None, self.storage, deps=Deps.build())

    async def feed(
        self, *payloads: dict[str, Any], dp: Dispatcher | None = None, bot: Bot | None = None
    ) -> None:
        """Each update through the dispatcher (the harness's, unless another is given)."""
        bot = bot or self.bot
        for payload in payloads:
            update = Update.model_validate(payload, context={"bot": bot})
            await (dp or self.dp).feed_update(bot, update)


@pytest.fixture
def bot_settings(
    db: sessionmaker[Session], private_redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> sessionmaker[Session]:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("OPERATOR_CHAT_ID", str(OPERATORS))
    # Rate limits and caches: this session's own Redis, flushed per test.
    monkeypatch.setenv("REDIS_URL", private_redis_url)
    get_settings.cache_clear()
    env_redis().flushdb()
    return db


@pytest_asyncio.fixture
async def harness(
    bot_settings: sessionmaker[Session], services: TestServices
) -> AsyncIterator[BotHarness]:
    api = FakeBotApi()
    prefix = f"fsm-test-{uuid.uuid4().hex[:10]}"
    storage = make_storage(prefix=prefix, url=services.redis_client_url)
    assert isinstance(storage, RedisStorage)
    bot = Bot(TOKEN, session=HttpxSession())
    dp = create_dispatcher(bot_settings, None, storage, deps=Deps.build())
    with respx.mock(assert_all_called=False) as router:
        router.post(url__startswith=f"{API}/bot").mock(side_effect=api.respond)
        try:
            yield BotHarness(bot, dp, api, storage, prefix, bot_settings)
        finally:
            keys = [k async for k in storage.redis.scan_iter(match=f"{prefix}:*")]
            if keys:
                await storage.redis.delete(*keys)
            await storage.close()
            await bot.session.close()


def user_json(user_id: int, lang: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Ann"}
    if lang is not None:
        found["language_code"] = lang
    return found


def message(
    update_id: int, chat: int, text: str, lang: str | None = "en", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "message_id": update_id,
        "date": 1,
        "chat": {"id": chat, "type": "private"},
        "from": user_json(chat, lang),
        **extra,
    }
    if text:
        body["text"] = text
        if text.startswith("/"):
            length = len(text.split()[0])
            body["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"update_id": update_id, "message": body}


def callback(update_id: int, user: int, data: str, lang: str | None = "en") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cb{update_id}",
            "from": user_json(user, lang),
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": user, "type": "private"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Shop"},
                "text": "menu",
            },
        },
    }
