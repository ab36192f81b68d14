"""The whole flow as processes: receiver + worker (Redis broker), fake Bot API and the
fake YooKassa / ATOL server in threads of the test process."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from adapters.broker.task_sender import CeleryTaskSender
from pipeline.settings import Settings
from schema import Base, Product
from schema.session import make_engine, make_session_factory
from scripts.fakes.bot_api import FakeBotApiThread
from scripts.fakes.providers import FakeProvidersThread
from tests.support.processes import (
    free_port,
    pipeline_env,
    receiver,
    spawn,
    stop,
    wait_until,
    worker,
)
from tests.support.services import TestServices
from tests.support.signing import TELEGRAM_SECRET, telegram_headers

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Flow:
    base: str
    bot: FakeBotApiThread
    providers: FakeProvidersThread
    engine: Engine
    sessions: sessionmaker[Session]
    broker_url: str
    prefix: str
    env: dict[str, str]
    logs: Path

    def post(self, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
        hdrs = {"Content-Type": "application/json", **headers}
        return httpx.post(f"{self.base}{path}", content=json.dumps(body), headers=hdrs, timeout=10)

    def update(self, payload: dict[str, Any]) -> None:
        answer = self.post("/webhooks/telegram", payload, **telegram_headers())
        assert answer.status_code == 200, answer.text

    def yookassa(self, event: str, object_id: str) -> None:
        body = {"type": "notification", "event": event, "object": {"id": object_id}}
        answer = self.post("/webhooks/yookassa", body)
        assert answer.status_code == 200, answer.text

    def texts(self, chat_id: int, method: str = "sendMessage") -> list[str]:
        return [
            str(c.get("text", "")) for c in self.bot.sent(method) if c.get("chat_id") == chat_id
        ]

    def wait_text(self, chat_id: int, part: str, timeout: float = 30) -> str:
        def found() -> bool:
            return any(part in t for t in self.texts(chat_id))

        try:
            wait_until(found, timeout, f"a message to {chat_id} containing {part!r}", 0.2)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; got {self.texts(chat_id)}") from None
        return next(t for t in self.texts(chat_id) if part in t)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def send_task(self, name: str, queue: str, *args: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        """As the CLI or the API sends one: through the task port, Celery on the broker."""
        monkeypatch.setenv("QUEUE_PREFIX", self.prefix)  # queue names are read from the env
        sender = CeleryTaskSender(Settings(broker_url=self.broker_url))
        try:
            sender.send(name, queue, *args)
        finally:
            sender.close()


@pytest.fixture(scope="module")
def flow(
    services: TestServices, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flow]:
    logs = tmp_path_factory.mktemp("flow-logs")
    bot, providers = FakeBotApiThread(), FakeProvidersThread()
    engine = make_engine(database_url, pool_size=2)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    sessions = make_session_factory(engine)
    products = json.loads((ROOT / "scripts/fakes/products.json").read_text())
    with sessions() as session:
        session.execute(insert(Product).values(products))
        session.commit()
    port, prefix = free_port(), f"f{uuid.uuid4().hex[:8]}-"
    env = {
        "DATABASE_URL": database_url,
        "BROKER_URL": services.redis_url,
        "REDIS_URL": services.redis_url,
        "QUEUE_PREFIX": prefix,
        "LOG_LEVEL": "INFO",
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_BOT_TOKEN": "123:flow",
        "TELEGRAM_API_BASE": bot.url,
        "OPERATOR_CHAT_ID": "-100500",
        "YOOKASSA_SHOP_ID": "54401",
        "YOOKASSA_SECRET_KEY": "test_key",
        "YOOKASSA_API_BASE": providers.url,
        # The fake posts from this machine: allowed beside YooKassa's own networks.
        "YOOKASSA_ALLOWED_NETWORKS": "127.0.0.1",
        # The fake YooKassa is a test shop: its payments say `test: true`.
        "ALLOW_TEST_PAYMENTS": "true",
        "ATOL_LOGIN": "login",
        "ATOL_PASSWORD": "pass",
        "ATOL_GROUP_CODE": "group_1",
        "ATOL_API_BASE": providers.atol_url,
        # Sent in each receipt's callback_url; the fake posts the report back to it.
        "ATOL_CALLBACK_TOKEN": "flow-atol-callback-token",
        "FISCAL_REGISTER": "atol",
        "RECEIPT_COMPANY_INN": "5544332219",
        "RECEIPT_COMPANY_EMAIL": "shop@example.com",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "RECEIPT_POLL_AFTER_S": "1",
        "RECONCILE_PENDING_AFTER_S": "1",
        "DATA_DIR": str(logs),
    }
    # Beat's sweeps re-send what waited (a 429 told a message to wait, say), as in production.
    beat = spawn(["beat"], pipeline_env(**env), logs / "beat.log")
    try:
        with (
            worker(pipeline_env(**env), logs, concurrency=2),
            receiver(pipeline_env(**env), logs, port=port) as base,
        ):
            yield Flow(
                base, bot, providers, engine, sessions, services.redis_url, prefix, env, logs
            )
    finally:
        stop(beat)
        bot.stop()
        providers.stop()
        engine.dispose()


def user(chat: int, lang: str = "en") -> dict[str, Any]:
    return {"id": chat, "is_bot": False, "first_name": "Ann", "language_code": lang}


def message(update_id: int, chat: int, text: str, lang: str = "en") -> dict[str, Any]:
    entities = []
    if text.startswith("/"):
        entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "from": user(chat, lang),
            "text": text,
            "entities": entities,
        },
    }


def payment_update(
    update_id: int, chat: int, kind: str, order: str, amount: int, charge: str
) -> dict[str, Any]:
    """A `successful_payment` or `refunded_payment` message for Stars."""
    payment = {
        "currency": "XTR",
        "total_amount": amount,
        "invoice_payload": order,
        "telegram_payment_charge_id": charge,
    }
    if kind == "successful_payment":
        payment["provider_payment_charge_id"] = ""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "from": user(chat),
            kind: payment,
        },
    }


_ids = iter(range(int(time.time()) % 1_000_000 * 100, 2_000_000_000))


def next_id() -> int:
    return next(_ids)


# Chats differ per run: rate-limit keys in the shared Redis outlive a test session.
_RUN = uuid.uuid4().int % 90_000 + 10_000


def chat(n: int) -> int:
    return _RUN * 100 + n
