"""The bot against the fake Bot API: /start, checkout, ordering per chat, the sender."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from aiogram.client.session.aiohttp import AiohttpSession
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.updates import BotProcessor
from pipeline.deps import Deps
from pipeline.notifications.outbox import add_notification
from pipeline.notifications.sender import send_due
from pipeline.settings import get_settings
from pipeline.telegram import updates
from pipeline.telegram.api import BotApi
from pipeline.telegram.limiter import RateLimiter
from pipeline.unit_of_work import unit_of_work
from schema import Order, Product, User
from scripts.fakes.bot_api import FakeBotApiThread, SlidingWindow
from tests.support.redis_clients import env_redis

# The bot's update processor of the running test (by its database), as a worker holds one.
PROCESSOR: dict[sessionmaker[Session], BotProcessor] = {}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeBotApiThread]:
    server = FakeBotApiThread()
    yield server
    server.stop()


@pytest.fixture
def bot_env(
    fake: FakeBotApiThread,
    private_redis_url: str,
    db: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[sessionmaker[Session]]:
    with fake.state.lock:
        fake.state.calls.clear()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:test")
    monkeypatch.setenv("TELEGRAM_API_BASE", fake.url)
    # Flushed below: this session's own Redis, not the one other test runs share.
    monkeypatch.setenv("REDIS_URL", private_redis_url)
    # The bot's replies wait on the shared limiter; pacing is exercised in tests/flows.
    monkeypatch.setenv("TELEGRAM_CHAT_RATE", "1000")
    monkeypatch.setattr(fake.state, "chat_limit", SlidingWindow(1000))
    get_settings.cache_clear()
    with env_redis() as client:
        client.flushdb()
    settings_changed(db)
    yield db
    close(PROCESSOR.pop(db))


def settings_changed(db: sessionmaker[Session]) -> None:
    """Read the environment again and make the bot's processor from it, once for the test,
    as the worker's runtime makes it with its Deps (the bot's handlers use its settings)."""
    get_settings.cache_clear()
    if db in PROCESSOR:
        close(PROCESSOR.pop(db))
    PROCESSOR[db] = BotProcessor(Deps.build())


def close(processor: BotProcessor) -> None:
    """As the worker's runtime closes: the bot's loop and Bot session, then its Deps."""
    processor.close()
    processor.deps.close()


def message(update_id: int, chat: int, text: str, lang: str = "ru") -> dict[str, Any]:
    user = {"id": chat, "is_bot": False, "first_name": "Ann", "language_code": lang}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1,
            "chat": {"id": chat, "type": "private"},
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            if text.startswith("/")
            else [],
        },
    }


def feed(db: sessionmaker[Session], *payloads: dict[str, Any]) -> None:
    processor = PROCESSOR[db]  # the runtime's Deps serves the task and the bot alike
    for payload in payloads:
        with unit_of_work(db, processor.deps) as uow:
            updates.queue_update(uow, payload)
    for chat in {updates.chat_of(p) for p in payloads}:
        updates.handle_chat(db, chat, processor, processor.deps)


def test_start_registers_user_in_telegram_language(
    bot_env: sessionmaker[Session], fake: FakeBotApiThread
) -> None:
    feed(bot_env, message(1, 501, "/start", "ru"))
    with bot_env() as session:
        user = session.execute(select(User)).scalar_one()
        assert (user.telegram_id, user.language) == (501, "ru")
    texts = [c["text"] for c in fake.sent()]
    assert texts[0].startswith("Здравствуйте, Ann")
    # No SHOP_NAME: the greeting reads as a sentence, with no gap where a name would be.
    assert "  " not in texts[0] and " ." not in texts[0]
    assert "Сменить" in texts[1]


def test_updates_of_a_chat_are_handled_in_update_id_order(
    bot_env: sessionmaker[Session], fake: FakeBotApiThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Neither our anti-flood nor Telegram's per-chat limit is under test here.
    monkeypatch.setenv("THROTTLE_BURST", "100")
    get_settings.cache_clear()
    settings_changed(bot_env)
    processor = PROCESSOR[bot_env]  # one per process, shared by its threads
    monkeypatch.setattr(fake.state, "chat_limit", SlidingWindow(1000))
    payloads = [message(i, 502, "/help" if i % 2 else "/orders", "en") for i in range(10, 16)]
    deps = processor.deps
    with unit_of_work(bot_env, deps) as uow:
        for payload in reversed(payloads):  # stored out of order
            updates.queue_update(uow, payload)
    threads = [
        threading.Thread(target=updates.handle_chat, args=(bot_env, 502, processor, deps))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    texts = [c["text"] for c in fake.sent()]
    assert len(texts) == 6
    expected = ["You have no orders yet." if i % 2 == 0 else "help" for i in range(10, 16)]
    assert [("help" if "/catalog" in t else t) for t in texts] == expected


def test_pre_checkout_is_validated_against_the_order(
    bot_env: sessionmaker[Session], fake: FakeBotApiThread
) -> None:
    feed(bot_env, message(20, 503, "/start", "en"))
    with bot_env() as session:
        user = session.execute(select(User)).scalar_one()
        product = Product(code="c", title_ru="К", title_en="C", price_minor=100, stars_price=5)
        session.add(product)
        session.flush()
        session.add(
            Order(
                public_id="o-1",
                user_id=user.id,
                product_id=product.id,
                amount_minor=5,
                currency="XTR",
                payment_method="stars",
                status="pending",
            )
        )
        session.commit()

    def query(update_id: int, amount: int) -> dict[str, Any]:
        return {
            "update_id": update_id,
            "pre_checkout_query": {
                "id": f"q{update_id}",
                "from": {"id": 503, "is_bot": False, "first_name": "A"},
                "currency": "XTR",
                "total_amount": amount,
                "invoice_payload": "o-1",
            },
        }

    feed(bot_env, query(21, 5), query(22, 6))
    answers = fake.sent("answerPreCheckoutQuery")
    assert [a["ok"] for a in answers] == [True, False]


def test_throttling_tells_the_user_once(
    bot_env: sessionmaker[Session], fake: FakeBotApiThread
) -> None:
    feed(bot_env, *[message(30 + i, 504, "/help", "en") for i in range(8)])
    texts = [c["text"] for c in fake.sent()]
    assert texts.count("You are sending messages too fast; please wait a moment.") == 1
    assert len(texts) < 8


def test_sender_marks_blocked_users_and_skips_missing_chats(
    bot_env: sessionmaker[Session], fake: FakeBotApiThread
) -> None:
    with bot_env() as session:
        users = [User(telegram_id=i, chat_id=i, language="en") for i in (601, 602, 603)]
        session.add_all(users)
        session.flush()
        for u in users:
            add_notification(
                session,
                dedup_key=f"n{u.id}",
                chat_id=u.chat_id,
                user_id=u.id,
                kind="payment_received",
                template="payment_received",
                params={"order": "o", "amount": "1 RUB"},
            )
        session.commit()
    fake.state.blocked.add(602)
    fake.state.unknown.add(603)
    deps = PROCESSOR[bot_env].deps  # the worker runtime's, as the send task's
    api = BotApi(deps.settings)
    try:
        send_due(bot_env, api, RateLimiter(deps.redis), budget_s=10, deps=deps)
    finally:
        api.client.close()
        fake.state.blocked.clear()
        fake.state.unknown.clear()
    with bot_env() as session:
        from schema import Notification

        status = dict(session.execute(select(Notification.chat_id, Notification.status)).all())
        assert status == {601: "sent", 602: "skipped", 603: "skipped"}
        blocked = session.execute(select(User).where(User.telegram_id == 602)).scalar_one()
        assert not blocked.is_active


def test_the_bot_builds_its_runtime_once_for_every_update(
    bot_env: sessionmaker[Session], fake: FakeBotApiThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.updates as plugin

    builds: list[int] = []
    build = plugin.build_bot_runtime

    def counted(deps: Deps) -> plugin.BotRuntime:
        builds.append(1)
        return build(deps)

    monkeypatch.setattr(plugin, "build_bot_runtime", counted)
    feed(bot_env, message(1, 503, "/start", "en"), message(2, 503, "/help", "en"))
    feed(bot_env, message(3, 504, "/start", "en"))
    assert len(builds) == 1  # one loop, Bot and Dispatcher for the process
    runtime = PROCESSOR[bot_env].runtime()
    assert PROCESSOR[bot_env].runtime() is runtime
    assert len(fake.sent()) >= 3


def test_closing_the_processor_closes_the_bot_and_keeps_the_deps(
    bot_env: sessionmaker[Session], fake: FakeBotApiThread
) -> None:
    feed(bot_env, message(1, 505, "/help", "en"))
    processor = PROCESSOR[bot_env]
    runtime = processor.runtime()
    session = runtime.bot.session
    assert isinstance(session, AiohttpSession)
    client = runtime.loop.run_until_complete(session.create_session())  # the one in use
    redis = processor.deps.redis
    processor.close()
    assert runtime.loop.is_closed() and client.closed
    assert processor.deps.redis is redis  # the worker's, closed with its runtime
    feed(bot_env, message(2, 505, "/help", "en"))  # a new runtime at the next update
    assert processor.runtime() is not runtime
    assert len(fake.sent()) == 2
