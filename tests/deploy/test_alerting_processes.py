"""The monitoring chain with real parts: a real Prometheus scrapes the running receiver,
worker and Flower and evaluates the project's rules; a real Alertmanager posts to the
receiver's /webhooks/alertmanager; the alert reaches the fake Bot API's alert chat, then
resolves. The same Prometheus answers every Grafana dashboard query with data."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from pipeline.notifications.outbox import add_notification
from schema.operations import BackupRun
from schema.session import make_engine, make_session_factory
from scripts.fakes.bot_api import FakeBotApiThread
from scripts.fakes.providers import FakeProvidersThread
from tests.support.monitoring import (
    Prometheus,
    derived_rules,
    running_alertmanager,
    running_prometheus,
)
from tests.support.monitoring_tools import alertmanager, prometheus
from tests.support.processes import free_port, pipeline_env, receiver, spawn, stop, wait_until
from tests.support.processes import worker as worker_process
from tests.support.services import TestServices
from tests.support.signing import TELEGRAM_SECRET, telegram_headers

ROOT = Path(__file__).resolve().parents[2]
ALERT_CHAT = -4_200_000 - int(time.time()) % 100_000
BLOCKED_CHAT = 4_100_000 + int(time.time()) % 100_000
TOKEN = "am-" + uuid.uuid4().hex
DOCS = "https://docs.example.com"
# EventsDead looks back 15 minutes; 20 s lets the test see it resolve.
WINDOWS = {"EventsDead": "20s"}

pytestmark = [pytest.mark.process, pytest.mark.timeout(600)]


@dataclass
class Stack:
    receiver: str
    prometheus: Prometheus
    bot: FakeBotApiThread
    engine: Engine
    logs: Path

    def alert_texts(self) -> list[str]:
        return [str(m.get("text", "")) for m in self.bot.sent() if m.get("chat_id") == ALERT_CHAT]

    def wait_alert(self, *parts: str, timeout: float = 120) -> str:
        def found() -> bool:
            return any(all(p in t for p in parts) for t in self.alert_texts())

        try:
            wait_until(found, timeout, f"an alert message with {parts}", 0.5)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the alert chat got {self.alert_texts()}") from None
        return next(t for t in self.alert_texts() if all(p in t for p in parts))


@pytest.fixture(scope="module")
def stack(
    services: TestServices, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    prometheus(), alertmanager()  # skip early, saying why, when the tools are missing
    logs = tmp_path_factory.mktemp("alerting")
    bot, providers = FakeBotApiThread(), FakeProvidersThread()
    receiver_port, worker_port, flower_port = free_port(), free_port(), free_port()
    env = pipeline_env(
        DATABASE_URL=database_url,
        BROKER_URL=services.redis_url,
        REDIS_URL=services.redis_url,
        QUEUE_PREFIX=f"m{uuid.uuid4().hex[:8]}-",
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
        TELEGRAM_BOT_TOKEN="123:alerting",
        TELEGRAM_API_BASE=bot.url,
        ALERT_CHAT_ID=str(ALERT_CHAT),
        ALERTMANAGER_WEBHOOK_TOKEN=TOKEN,
        ALERTMANAGER_RUNBOOK_BASE_URL=DOCS,
        YOOKASSA_SHOP_ID="54401",
        YOOKASSA_SECRET_KEY="test_key",
        YOOKASSA_API_BASE=providers.url,
        # The test posts from 127.0.0.1, not from YooKassa's networks.
        YOOKASSA_ENFORCE_OFFICIAL_NETWORKS="false",
        WORKER_METRICS_PORT=str(worker_port),
        DATA_DIR=str(logs),
        LOG_LEVEL="INFO",  # the worker's " ready." line
    )
    beat = spawn(["beat"], env, logs / "beat.log")
    flower = spawn(["flower", "--port", str(flower_port)], env, logs / "flower.log")
    engine = make_engine(database_url, pool_size=2)
    try:
        with (
            worker_process(env, logs, concurrency=2),
            receiver(env, logs, port=receiver_port) as base,
            running_alertmanager(f"{base}/webhooks/alertmanager", TOKEN, logs / "am") as am,
            running_prometheus(
                {
                    "receiver": f"127.0.0.1:{receiver_port}",
                    "worker": f"127.0.0.1:{worker_port}",
                    "flower": f"127.0.0.1:{flower_port}",
                },
                derived_rules(WINDOWS),
                am,
                logs / "prometheus",
            ) as prom,
        ):
            yield Stack(base, prom, bot, engine, logs)
    finally:
        stop(flower)
        stop(beat)
        bot.stop()
        providers.stop()
        engine.dispose()


def test_real_rules_load_and_every_target_is_scraped(stack: Stack) -> None:
    rules = {rule["name"] for rule in stack.prometheus.rules() if rule["type"] == "alerting"}
    assert {"EventsDead", "ReceiverDown", "NoCeleryWorkersOnline", "BackupOverdue"} <= rules
    assert len(rules) >= 12

    def all_up() -> bool:
        return set(stack.prometheus.targets_up().values()) == {"up"}

    wait_until(all_up, 60, f"every target up: {stack.prometheus.targets_up()}", 1)
    time.sleep(3)  # a few evaluations on the scraped data
    firing = {alert["labels"]["alertname"] for alert in stack.prometheus.alerts()}
    # A fresh install has no backup yet (the gauge is 0): not an overdue backup.
    assert "BackupOverdue" not in firing, stack.prometheus.alerts()


def poison_webhooks(stack: Stack, count: int = 3) -> None:
    """YooKassa notifications of payments the provider does not know: the re-fetch is
    answered 404, final, and the events go dead."""
    for _ in range(count):
        body = {
            "type": "notification",
            "event": "payment.succeeded",
            "object": {"id": f"unknown-{uuid.uuid4()}", "status": "succeeded"},
        }
        answer = httpx.post(f"{stack.receiver}/webhooks/yookassa", json=body, timeout=10)
        assert answer.status_code == 200, answer.text


def test_dead_events_alert_through_prometheus_and_alertmanager_then_resolve(
    stack: Stack,
) -> None:
    dead = 'pipeline_events_dead_total{source="yookassa"}'
    wait_until(lambda: bool(stack.prometheus.query(dead)), 60, "the dead counter at 0", 1)
    poison_webhooks(stack)
    fired = stack.wait_alert("🔴 Prometheus EventsDead (warning)", "source=yookassa")
    assert f"runbook: {DOCS}/operations/alerts/#events-going-dead" in fired
    resolved = stack.wait_alert("✅ resolved", "Prometheus EventsDead", timeout=180)
    assert "source=yookassa" in resolved
    with stack.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT type, status FROM events WHERE source = 'alertmanager' ORDER BY id")
        ).all()
    assert ("alert.firing", "processed") in rows and ("alert.resolved", "processed") in rows


def dashboard_queries() -> list[str]:
    queries: list[str] = []
    for path in sorted((ROOT / "docker/grafana/dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            queries.extend(target["expr"] for target in panel.get("targets", []))
    return queries


def traffic(stack: Stack) -> None:
    """What the dashboards show: updates, bad signatures, notifications sent, throttled
    (a burst to one chat) and failed (a chat that blocked the bot), a good backup."""
    for update_id in range(3):
        body = {"update_id": int(time.time() * 1000) + update_id}
        httpx.post(
            f"{stack.receiver}/webhooks/telegram",
            content=json.dumps(body),
            headers=telegram_headers(),
            timeout=10,
        )
        httpx.post(
            f"{stack.receiver}/webhooks/telegram",
            content=json.dumps(body),
            headers=telegram_headers("forged"),
            timeout=10,
        )
    httpx.post(f"{stack.bot.url}/_fake/config", json={"blocked": [BLOCKED_CHAT]}, timeout=5)
    sessions = make_session_factory(stack.engine)
    with sessions() as session:
        run = uuid.uuid4().hex[:8]
        for n in range(4):
            add_notification(
                session, dedup_key=f"m:{run}:{n}", chat_id=BLOCKED_CHAT + 1, kind="test",
                text=f"burst {n}",
            )  # fmt: skip
        add_notification(
            session, dedup_key=f"m:{run}:b", chat_id=BLOCKED_CHAT, kind="test", text="blocked"
        )
        now = datetime.now(UTC)
        session.add(BackupRun(started_at=now, finished_at=now, ok=True, file="/b/test.dump"))
        session.commit()


def test_every_dashboard_query_finds_a_series(stack: Stack) -> None:
    queries = dashboard_queries()
    assert len(queries) >= 20
    traffic(stack)
    empty = list(queries)

    def answered() -> bool:
        empty[:] = [q for q in empty if not stack.prometheus.query(q)]
        return not empty

    try:
        wait_until(answered, 180, "every dashboard query to find a series", 3)
    except AssertionError:
        raise AssertionError(f"queries without series: {empty}") from None


def test_every_metric_a_rule_names_is_exported(stack: Stack) -> None:
    names = set()
    for group in derived_rules({})["groups"]:
        for rule in group["rules"]:
            names.update(re.findall(r"\b((?:pipeline|flower)_[a-z_]+)", str(rule["expr"])))
    exported = httpx.get(f"{stack.prometheus.base}/api/v1/label/__name__/values", timeout=10)
    missing = names - set(exported.json()["data"])
    assert not missing, f"rules name metrics nobody exports: {sorted(missing)}"
