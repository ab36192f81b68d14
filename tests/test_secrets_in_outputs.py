"""No secret in any output of any process. Every secret setting holds a recognisable canary
(the database, broker and Redis URLs a password), each kind of process runs its real code
paths, failing ones included, and no canary, nor a secret made at run time (login code,
tokens, API key), may appear in the log sinks (loguru, stdlib logging and Celery's, all
routed through `setup_logging`), in Sentry events, stored error texts, alert texts or
HTTP answers. Each run's log sinks and Sentry mask with a Redactor that starts empty and
that the process's runtime teaches its settings, as the processes do."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
import pytest
import respx
from loguru import logger
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient
from typer.testing import CliRunner
from websockets.exceptions import ConnectionClosed

from pipeline.deps import Deps
from pipeline.envelope import Envelope
from pipeline.events.handlers import HandlerContext, HandlerRegistry
from pipeline.events.service import EventService, RetryPolicy
from pipeline.logging import setup_logging
from pipeline.providers.registry import build_registry
from pipeline.providers.settings_set import ProviderSettingsSet
from pipeline.redaction import MIN_SECRET_LENGTH, Redactor
from pipeline.settings import Settings, get_settings
from scripts.gen_config_docs import env_name, settings_classes
from tests.support.sentry_capture import captured_sentry
from tests.support.server import free_port
from tests.support.services import TestServices
from tests.support.smtp import smtp_server
from tests.webhooks.test_secrets_stay_inside import Exploding, pieces, requests, secret_settings

# Shaped like a real token, so the generic Bot API URL mask is exercised too.
BOT_TOKEN = "7000000001:AAcanaryBotToken_0123456789abcdefghij"
DB_PASSWORD = "db-canary-pw-61"
BROKER_PASSWORD = "broker-canary-pw-62"
REDIS_PASSWORD = "redis-canary-pw-63"
SMTP_PASSWORD = "smtp-canary-pw-64"
BOT_API_URL = f"https://api.telegram.org/bot{BOT_TOKEN}/sendMessage"
EMAIL = "ops@example.com"
# Where an error text is stored, per table: everything an operator or a client is shown.
STORED = [
    ("events", "last_error"),
    ("event_attempts", "error"),
    ("notifications", "last_error"),
    ("receipts", "error"),
    ("backup_runs", "error"),
    ("backup_runs", "verify_error"),
    ("payments", "mismatch"),
    ("alerts", "text"),
    ("notifications", "text"),
]


@dataclass
class Run:
    """One process's run: its settings and what it let out besides the logs."""

    settings: Settings
    db: sessionmaker[Session]
    secrets: dict[str, str]
    answers: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)  # sinks not on the process's stderr
    made: list[str] = field(default_factory=list)  # secrets created while running
    shown: set[str] = field(default_factory=set)  # made secrets an answer must carry
    # The process's Redactor: its sinks and Sentry use it, its runtime teaches it.
    redactor: Redactor = field(default_factory=Redactor)

    def deps(self) -> Deps:
        """The runtime's Deps, as a worker builds it (the bot gets the worker's Redactor)."""
        return Deps(self.settings, providers=ProviderSettingsSet.from_env(), redactor=self.redactor)


def with_password(url: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    user = rest.split("@", 1)[0] if "@" in rest else "default"
    host = rest.split("@", 1)[1] if "@" in rest else rest
    return f"{scheme}://{user.split(':', 1)[0]}:{password}@{host}"


@pytest.fixture
def run(
    db: sessionmaker[Session],
    services: TestServices,
    database_url: str,
    queue_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Run]:
    secrets = secret_settings()
    secrets["TELEGRAM_BOT_TOKEN"] = BOT_TOKEN
    secrets["API_JWT_SECRET"] = "jwt-canary-Kq3vXn8R0pLw5Tz2Yb7Hd4Mf6Gc1Js9A"  # a usable key
    secrets["SMTP_URL"] = f"smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:9"  # a closed port
    urls = {
        "DATABASE_URL": with_password(database_url, DB_PASSWORD),
        "BROKER_URL": with_password(services.redis_url, BROKER_PASSWORD),
        "REDIS_URL": with_password(services.redis_client_url, REDIS_PASSWORD),
    }
    for name, value in {**secrets, **urls}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("QUEUE_PREFIX", f"{queue_prefix}canary-")
    monkeypatch.setenv("ALERT_CHAT_ID", "-100500")
    monkeypatch.setenv("API_LOGIN_RATE_LIMIT", "1000/minute")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    get_settings.cache_clear()
    yield Run(get_settings(), db, secrets)
    get_settings.cache_clear()


def forbidden(run: Run) -> list[str]:
    configured = [p for value in run.secrets.values() for p in pieces(value)]
    passwords = [DB_PASSWORD, BROKER_PASSWORD, REDIS_PASSWORD, SMTP_PASSWORD]
    return [*configured, *passwords, *run.made]


# --- the processes --------------------------------------------------------------------


def receiver(run: Run) -> None:
    from webhooks.main import create_app

    registry = build_registry(get_settings())
    registry.register(Exploding())
    with TestClient(
        create_app(run.settings, registry=registry, redactor=run.redactor),
        raise_server_exceptions=False,
    ) as client:
        for request in requests(run.secrets):
            response = client.request(
                request.method, request.path, content=request.body or None,
                headers=request.headers, params=request.params,
            )  # fmt: skip
            run.answers.append(response.text)


def bot_api_failure(ctx: HandlerContext) -> None:
    """What an outbound call's failure looks like from httpx: the URL holds the token."""
    request = httpx.Request("POST", BOT_API_URL)
    response = httpx.Response(502, request=request)
    raise httpx.HTTPStatusError(f"Server error '502 Bad Gateway' for url '{BOT_API_URL}'",
                                request=request, response=response)  # fmt: skip


def database_failure(ctx: HandlerContext) -> None:
    raise ConnectionError(f"could not reach {get_settings().database_url}")


def worker(run: Run) -> None:
    """Events failing until dead (alerts included), through Celery's task tracer."""
    from pipeline.alerts.checks import on_event_dead
    from workers.tasks import ingest as ingest_task

    handlers = HandlerRegistry()
    handlers.register("exploding", "bot", bot_api_failure)
    handlers.register("exploding", "db", database_failure)
    registry = build_registry(get_settings())
    registry.register(Exploding())
    service = EventService(run.db, registry, handlers, RetryPolicy(max_attempts=2),
                           on_dead=on_event_dead(run.settings), deps=run.deps())  # fmt: skip
    now = datetime.now(UTC)
    envelopes = [
        Envelope("exploding", f"w{n}", kind, body, now, {}, "r1")
        for n, (kind, body) in enumerate([("bot", b"{}"), ("db", b"{}"), ("x", b"unparsable")])
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ingest_task, "runtime", lambda: SimpleNamespace(events=service))
        ingest_task.ingest.apply(args=[[e.to_message() for e in envelopes]])
        with run.db() as session:
            ids = list(session.scalars(text("SELECT id FROM events ORDER BY id")))
        for event_id in ids:
            ingest_task.process_event.apply(args=[event_id])
        # A task that fails outright: Celery's own failure log.
        patch.setattr(ingest_task, "runtime", _exploding_runtime)
        ingest_task.process_event.apply(args=[ids[0]])


def _exploding_runtime() -> SimpleNamespace:
    raise httpx.ConnectError(f"[Errno 111] Connection refused: {BOT_API_URL}")


def api(run: Run) -> None:
    """Login by code (the code in the mail), a refresh, an API key made, failures."""
    from api.app import create_app
    from pipeline.auth import staff

    with run.db.begin() as session:
        staff.add_staff(session, EMAIL, "admin")
    app = create_app(run.settings, redactor=run.redactor)
    with TestClient(app, raise_server_exceptions=False) as client:
        # The configured SMTP server is unreachable: the mail's failure is logged.
        run.answers.append(client.post("/api/v1/auth/code", json={"email": EMAIL}).text)
    # The stand-in SMTP server (aiosmtpd, a test tool) logs each line it receives.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    with smtp_server() as (url, inbox):
        settings = run.settings.model_copy(
            update={"smtp_url": SecretStr(url), "smtp_from": "p@example.com"}
        )
        app = create_app(settings, redactor=run.redactor)
        with TestClient(app, raise_server_exceptions=False) as client:
            answers = [client.post("/api/v1/auth/code", json={"email": EMAIL})]
            code = inbox.last_code(EMAIL)
            run.made.append(code)
            wrong = "000000" if code != "000000" else "111111"
            answers.append(
                client.post("/api/v1/auth/code/verify", json={"email": EMAIL, "code": wrong})
            )
            tokens = client.post("/api/v1/auth/code/verify", json={"email": EMAIL, "code": code})
            pair = tokens.json()
            run.made += [pair["access_token"], pair["refresh_token"]]
            auth = {"Authorization": f"Bearer {pair['access_token']}"}
            refreshed = client.post(
                "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
            )
            run.made += [refreshed.json()["access_token"], refreshed.json()["refresh_token"]]
            key = client.post(
                "/api/v1/apikeys", json={"name": "ci", "scopes": ["events:read"]}, headers=auth
            )
            assert key.status_code == 201, key.text
            run.made.append(key.json()["key"])
            answers += [
                client.get("/api/v1/events", headers={"X-API-Key": key.json()["key"]}),
                client.get("/api/v1/events", headers={"X-API-Key": key.json()["key"] + "x"}),
                client.get("/api/v1/events", headers={"Authorization": f"Bearer {BOT_TOKEN}"}),
                client.post("/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}),
                client.post("/api/v1/products", json={"code": BOT_TOKEN}, headers=auth),
                client.get(f"/api/v1/orders/{DB_PASSWORD}", headers=auth),
            ]
            run.answers += [a.text for a in answers]
            # Tokens and the key are in the answers made to hand them out, and only there.
            run.shown |= {pair["access_token"], pair["refresh_token"], key.json()["key"]}
            run.shown |= {refreshed.json()["access_token"], refreshed.json()["refresh_token"]}
            run.answers += [tokens.text, refreshed.text, key.text]
        live(settings, run.redactor, [key.json()["key"], refreshed.json()["access_token"]])


def live(settings: Settings, redactor: Redactor, tokens: list[str]) -> None:
    """WebSocket logins with `?token=`, served by uvicorn configured as `pipeline api`
    does: uvicorn logs a WebSocket's path with its query string."""
    import uvicorn
    from websockets.sync.client import connect

    from api.app import create_app

    # As in a fresh `pipeline api` process (an earlier test's uvicorn may have set levels).
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    port = free_port()
    config = uvicorn.Config(create_app(settings, redactor=redactor), host="127.0.0.1", port=port,
                            log_config=None, access_log=False, lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)
        for token in [*tokens, "pk_0123456789_" + "x" * 43]:
            with connect(f"ws://127.0.0.1:{port}/api/v1/ws?token={token}", open_timeout=10) as ws:
                ws.send(json.dumps({"type": "subscribe", "topics": ["events"]}))
                with contextlib.suppress(ConnectionClosed):  # the made-up key is refused
                    ws.recv(timeout=10)
    finally:
        server.should_exit = True
        thread.join(10)


def bot(run: Run) -> None:
    """An update whose reply fails at the Bot API with the token in the error."""
    from aiogram import Bot
    from aiogram.types import Update

    from bot.factory import create_dispatcher
    from bot.fsm import make_storage
    from pipeline.redis_client import redis_url
    from tests.bot.harness import HttpxSession

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"connection refused: {request.url}", request=request)

    async def feed() -> None:
        storage = make_storage(prefix="canary-fsm", url=redis_url(run.settings))
        telegram = Bot(BOT_TOKEN, session=HttpxSession())
        dp = create_dispatcher(run.db, None, storage, deps=run.deps())
        update = {"update_id": 1, "message": {
            "message_id": 1, "date": 1, "chat": {"id": 42, "type": "private"},
            "from": {"id": 42, "is_bot": False, "first_name": "Ann"}, "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}  # fmt: skip
        try:
            with respx.mock() as router:
                router.post(url__startswith="https://api.telegram.org/").mock(side_effect=refuse)
                try:
                    await dp.feed_update(telegram, Update.model_validate(update))
                except Exception as exc:  # logged as aiogram's polling loop does
                    logger.opt(exception=exc).error("update failed")
        finally:
            await storage.close()
            await telegram.session.close()

    asyncio.run(feed())


def cli(run: Run) -> None:
    """Commands that read the database, call the Bot API and fail."""
    from cli import app

    # What `prepare` teaches a command's Redactor (commands that call it build their own).
    run.redactor.learn(run.settings, *ProviderSettingsSet.from_env().all())
    runner = CliRunner()
    with respx.mock() as router:
        router.post(url__startswith="https://api.telegram.org/").mock(
            side_effect=httpx.ConnectError(f"refused: {BOT_API_URL}")
        )
        for args in (["health"], ["events", "list"], ["telegram", "info"], ["events", "show", "1"]):
            result = runner.invoke(app, args)
            run.logs.append(result.output)  # its stderr, where the log sink writes
    created = runner.invoke(app, ["apikeys", "create", "--name", "n", "--scope", "events:read"])
    key = created.stdout.strip().splitlines()[-1]
    run.made.append(key)
    run.shown.add(key)
    run.logs.append(created.stderr)
    run.answers.append(created.stdout)


# A line each run must have logged: its failing paths did run.
SEEN = {
    "receiver": "unreadable request: RuntimeError",
    "worker": "raised unexpected: ConnectError",
    "api": '"WebSocket /api/v1/ws?token=',
    "bot": "update failed",
    "cli": "telegram info failed",
}
PROCESSES: dict[str, Callable[[Run], None]] = {
    "receiver": receiver, "worker": worker, "api": api, "bot": bot, "cli": cli,
}  # fmt: skip


def _as_in_a_fresh_process() -> None:
    """Loggers as a new process has them: earlier tests in this process may have run a
    `dictConfig` (which disables existing loggers, Celery's trace logger among them) or
    uvicorn's default config (own handlers, no propagation, levels)."""
    for name in ("celery", "celery.app.trace", "celery.worker", "uvicorn", "uvicorn.error",
                 "uvicorn.access"):  # fmt: skip
        found = logging.getLogger(name)
        found.disabled = False
        found.propagate = True
        found.handlers.clear()
        found.setLevel(logging.NOTSET)


@pytest.mark.parametrize("process", sorted(PROCESSES))
def test_no_secret_reaches_any_output(
    process: str, run: Run, capfd: pytest.CaptureFixture[str]
) -> None:
    _as_in_a_fresh_process()
    setup_logging(run.settings, process, run.redactor)
    try:
        with captured_sentry(run.settings, run.redactor) as sentry:
            PROCESSES[process](run)
        sys.stderr.flush()
        logs = "".join([*capfd.readouterr(), *run.logs])
    finally:
        logger.remove()
    stored = _stored_texts(run.db)
    stored += [("sentry", item.decode(errors="replace")) for item in sentry.items()]
    assert SEEN[process] in logs, "the run did not log its failure: is the capture on the sinks?"
    assert set(provider_secrets(run)) <= run.redactor.known(), "its runtime taught it them"
    for secret in forbidden(run):
        assert secret not in logs, f"{secret!r} is in the logs of the {process}"
        for table, value in stored:
            assert secret not in value, f"{secret!r} is stored in {table}"
        for answer in run.answers:
            if secret not in run.shown:
                assert secret not in answer, f"{secret!r} is in an answer of the {process}"
    assert "[redacted]" in logs or process in {"api", "cli"}
    if process == "worker":  # the failures were stored and alerted, masked
        tables = {table for table, value in stored if "bot[redacted]/sendMessage" in value}
        assert {"events", "event_attempts", "notifications"} <= tables, tables  # the alert
        assert any(table == "sentry" for table, _ in stored), "the failures reach Sentry"


def provider_secrets(run: Run) -> list[str]:
    """The configured secrets of the providers' settings (not the app's `Settings`)."""
    names = {
        env_name(cls, name, info)
        for cls in settings_classes()
        if cls is not Settings
        for name, info in cls.model_fields.items()
        if "SecretStr" in str(info.annotation)
    }
    assert len(names) >= 8
    found = [p for name in names for p in pieces(run.secrets[name])]
    return [p for p in found if len(p) >= MIN_SECRET_LENGTH]


def runtime_redactor(process: str, run: Run) -> Redactor:
    """The Redactor the process kind's own runtime builds from the environment."""
    if process == "receiver":
        from webhooks.main import create_app

        redactor: Redactor = create_app(run.settings).state.redactor
        return redactor
    if process == "worker":  # and the bot, which the worker's runtime makes
        from workers.celery_app import WorkerApp

        worker = WorkerApp(run.settings)
        runtime = worker.runtime
        try:
            assert runtime.deps.redactor is worker.redactor
            # The bot serves with the runtime's Deps, so with its Redactor.
            assert runtime.bot is not None and getattr(runtime.bot, "deps", None) is runtime.deps
        finally:
            runtime.close()
        worker_redactor: Redactor = worker.redactor  # WorkerApp is a Celery app: untyped
        return worker_redactor
    if process == "api":
        from api.app import build_runtime

        api_runtime = build_runtime(run.settings)
        api_runtime.close()
        return api_runtime.deps.redactor
    if process == "grpc":
        from grpc_api.runtime import build_runtime as build_grpc_runtime

        grpc_runtime = build_grpc_runtime(run.settings)
        asyncio.run(grpc_runtime.close())
        return grpc_runtime.deps.redactor
    from cli.runtime import cli_runtime

    try:
        with cli_runtime() as cli_run:
            return cli_run.deps.redactor
    finally:
        logger.remove()


@pytest.mark.parametrize("process", ["receiver", "worker", "api", "grpc", "cli"])
def test_each_runtime_redactor_knows_every_configured_secret(process: str, run: Run) -> None:
    redactor = runtime_redactor(process, run)
    configured = [p for value in run.secrets.values() for p in pieces(value)]
    passwords = [DB_PASSWORD, BROKER_PASSWORD, REDIS_PASSWORD, SMTP_PASSWORD]
    expected = [p for p in [*configured, *passwords] if len(p) >= MIN_SECRET_LENGTH]
    assert set(provider_secrets(run)) <= set(expected)
    missing = sorted(p for p in expected if p in redactor.redact(f"<{p}>"))
    assert not missing, f"the {process}'s Redactor does not mask {missing}"


def _stored_texts(db: sessionmaker[Session]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    with db() as session:
        for table, column in STORED:
            rows = session.scalars(text(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL"))
            found += [(table, str(value)) for value in rows]
    return found


def test_the_stored_error_places_are_all_known() -> None:
    """A new error column is checked above too: it has to be named in STORED."""
    from schema.base import Base

    columns = {
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if "error" in column.name
    }
    assert columns <= set(STORED), columns - set(STORED)
