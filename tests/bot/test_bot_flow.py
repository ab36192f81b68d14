"""The bot against the fake Bot API: /start, checkout, ordering per chat, the sender."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.updates import BotProcessor
from pipeline.deps import Deps, redactor_of
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
) -> sessionmaker[Session]:
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
    env_redis().flushdb()
    PROCESSOR.clear()
    settings_changed(db)
    return db


def settings_changed(db: sessionmaker[Session]) -> None:
    """Read the environment again and make the bot's processor from it, once for the test,
    as the worker's runtime makes it (the bot's handlers use its settings)."""
    get_settings.cache_clear()
    PROCESSOR[db] = BotProcessor(get_settings(), redactor_of(get_settings()))


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
    for payload in payloads:
        with unit_of_work(db, Deps.build()) as uow:
            updates.queue_update(uow, payload)
    for chat in {updates.chat_of(p) for p in payloads}:
        updates.handle_chat(db, chat, PROCESSOR[db], Deps.build())


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
    processor = BotProcessor(
        get_settings(), redactor_of(get_settings())
    )  # one per process, shared by its threads
    monkeypatch.setattr(fake.state, "chat_limit", SlidingWindow(1000))
    payloads = [message(i, 502, "/help" if i % 2 else "/orders", "en") for i in range(10, 16)]
    deps = Deps.build()
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
    try:
        send_due(
            bot_env,
            BotApi(get_settings()),
            RateLimiter(env_redis()),
            budget_s=10,
            deps=Deps.build(),
        )
    finally:
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

    def counted(settings: Any, redactor: Any) -> plugin.BotRuntime:
        builds.append(1)
        return build(settings, redactor)

    monkeypatch.setattr(plugin, "build_bot_runtime", counted)
    feed(bot_env, message(1, 503, "/start", "en"), message(2, 503, "/help", "en"))
    feed(bot_env, message(3, 504, "/start", "en"))
    assert len(builds) == 1  # one loop, Bot and Dispatcher for the process
    runtime = PROCESSOR[bot_env].runtime()
    assert PROCESSOR[bot_env].runtime() is runtime
    assert len(fake.sent()) >= 3
