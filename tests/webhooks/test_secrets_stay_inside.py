"""No secret leaves the process: every secret setting gets a recognisable value, every
receiver route is driven with valid, invalid and crashing requests, a provider is made to
raise, and neither the logs (text and JSON) nor the Sentry events may contain a secret."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from pipeline.deps import Deps
from pipeline.envelope import Envelope
from pipeline.events.handlers import HandlerContext, HandlerRegistry
from pipeline.events.service import EventService, RetryPolicy
from pipeline.logging import setup_logging
from pipeline.providers.base import Accepted, InboundRequest, Reply
from pipeline.providers.registry import build_registry
from pipeline.providers.settings_set import ProviderSettingsSet
from pipeline.redaction import HasSecrets, Redactor
from pipeline.settings import Settings, get_settings
from schema.events import Event
from scripts.gen_config_docs import env_name, settings_classes
from tests.pipeline.providers.cases import CASES, ENV, Request
from tests.support.sentry_capture import MemoryTransport, captured_sentry
from tests.support.services import TestServices
from tests.support.signing import STRIPE_SECRET
from webhooks.main import create_app

# The providers' test secrets (so valid requests can be signed) plus the conftest ones.
KNOWN = {**ENV, "TELEGRAM_WEBHOOK_SECRET": "tg-secret-1,tg-secret-2"}
KNOWN["STRIPE_WEBHOOK_SECRET"] = STRIPE_SECRET
SPECIAL = {
    "SENTRY_DSN": "https://sentrykey0canary0{n}@sentry.invalid/1",
    "FLOWER_BASIC_AUTH": "ops:flower-canary-{n}",
    "TBANK_TERMINALS": "9999000011112222:tbank-terminal-canary-{n}",
}
DB_PASSWORD = "db-canary-password-71"


def secret_settings() -> dict[str, str]:
    """Every SecretStr setting of every settings class -> its environment variable's value."""
    values: dict[str, str] = {}
    for cls in settings_classes():
        for name, info in cls.model_fields.items():
            if "SecretStr" not in str(info.annotation):
                continue
            env = env_name(cls, name, info)
            template = SPECIAL.get(env, f"{env.lower()}-canary-{{n}}")
            values[env] = KNOWN.get(env) or template.format(n=len(values))
    return values


def pieces(value: str) -> list[str]:
    """What must not appear: each rotation entry, and the password of `user:password`."""
    found = []
    for part in value.split(","):
        found.append(part)
        if ":" in part and "://" not in part:
            found.append(part.split(":", 1)[1])
        if "://" in part:
            found.append(part.split("://", 1)[1].split("@", 1)[0])  # the DSN key
    return found


def test_every_settings_class_lists_its_secrets() -> None:
    secret_classes = [
        cls
        for cls in settings_classes()
        if any("SecretStr" in str(f.annotation) for f in cls.model_fields.values())
    ]
    assert len(secret_classes) >= 8  # the core and the signed / API providers
    assert all(issubclass(cls, HasSecrets) for cls in secret_classes)


class Exploding:
    """A provider that fails inside `accept` with a secret in a local variable and in the
    message, and (at /reply) inside `reply`, after the request was accepted."""

    name: ClassVar[str] = "exploding"
    methods: ClassVar[tuple[str, ...]] = ("POST",)
    verifies: ClassVar[str] = "nothing"

    def configured(self) -> bool:
        return True

    def accept(self, request: InboundRequest) -> Accepted:
        password = get_settings().telegram_webhook_secret
        assert password is not None
        if request.subpath == "reply":
            return Accepted(external_id="x1", event_type="boom")
        raise RuntimeError(f"could not verify with {password.get_secret_value()}")

    def reply(self, accepted: Accepted) -> Reply:
        token = get_settings().telegram_bot_token
        assert token is not None
        raise KeyError(token.get_secret_value())

    def payload(self, body: bytes, headers: Any) -> dict[str, object]:
        if body == b"unparsable":
            key = get_settings().telegram_payment_provider_token
            assert key is not None
            raise ValueError(f"cannot parse with {key.get_secret_value()}")
        return {}


def failing_handler(ctx: HandlerContext) -> None:
    flower = get_settings().flower_basic_auth
    assert flower is not None
    raise RuntimeError(f"handler failed for {flower.get_secret_value()}")


def requests(secrets: dict[str, str]) -> list[Request]:
    """Valid, broken and crashing requests at every route the receiver serves."""
    sent: list[Request] = []
    for case in CASES.values():
        variants = [
            case.valid(),
            case.tampered(),
            case.wrong_secret(),
            case.missing_auth(),
            case.stale(),
            case.malformed(),
            case.empty(),
            case.wrong_content_type(),
        ]
        valid = case.valid()
        variants += [replace(valid, path=valid.path + "/extra"), replace(valid, method="GET")]
        if case.provider == "yookassa":  # its path token is one of the secrets set here
            token = secrets["YOOKASSA_CALLBACK_TOKEN"]
            variants = [
                replace(v, path=v.path.replace("/yookassa", f"/yookassa/{token}", 1))
                for v in variants
                if v is not None
            ]
        sent += [v for v in variants if v is not None]
    json_headers = {"Content-Type": "application/json"}
    now = int(time.time())
    sent += [
        # Requests that made the receiver answer 500 before.
        Request("/webhooks/tbank", b'{"TerminalKey": "x", "Token": "ab", "A": "\\ud800"}',
                json_headers),
        Request("/webhooks/stripe", b"{}", {**json_headers, "Stripe-Signature":
                f"t={'9' * 400},v1=00"}),
        Request("/webhooks/atol", b'{"uuid": "a-1", "status": []}', json_headers),
        Request("/webhooks/atol", b'{"uuid": "a-1", "status": {}}', json_headers),
        Request("/webhooks/robokassa", b"OutSum=1e999990&InvId=1&SignatureValue=00",
                {"Content-Type": "application/x-www-form-urlencoded"}),
        Request("/webhooks/stripe", b"{}", {**json_headers, "Stripe-Signature": f"t={now},v1="}),
        Request("/webhooks/nowhere", b"{}", json_headers),
        Request("/healthz", method="GET"),
        Request("/readyz", method="GET"),
        Request("/healthz/system", method="GET"),
        Request("/metrics", method="GET"),
    ]  # fmt: skip
    # The provider that fails, with every secret-carrying header and field set to a secret.
    leaky = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {secrets['TELEGRAM_BOT_TOKEN']}",
        "Cookie": f"session={secrets['STRIPE_API_KEY']}",
        "X-Telegram-Bot-Api-Secret-Token": "tg-secret-2",
        "Content-HMAC": secrets["CLOUDPAYMENTS_API_SECRET"],
        "X-Content-HMAC": secrets["CLOUDKASSIR_API_SECRET"],
        "Stripe-Signature": f"t={now},v1={STRIPE_SECRET}",
    }
    body = json.dumps({"Password": "tb-pass-new", "Token": secrets["TBANK_PASSWORD"]}).encode()
    query = {"SignatureValue": "rk-pass2-old", "Password": secrets["YOOKASSA_SECRET_KEY"]}
    for path in ("/webhooks/exploding", "/webhooks/exploding/reply"):
        sent.append(Request(path, body, leaky, "POST", query))
    return sent


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch, queue_prefix: str) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("QUEUE_PREFIX", f"{queue_prefix}secrets-")
    values = secret_settings()
    for name, value in {**ENV, **values}.items():  # the other provider settings too
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield values
    get_settings.cache_clear()


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_secret_in_logs_or_sentry_events(
    secrets: dict[str, str],
    services: TestServices,
    log_format: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = Settings(
        broker_url=services.redis_url,
        # Unreachable, so the system health check fails and logs why; its password is a secret too.
        database_url=f"postgresql://pipeline:{DB_PASSWORD}@127.0.0.1:9/pipeline",
        log_format=log_format,  # type: ignore[arg-type]
        log_level="DEBUG",
    )
    registry = build_registry(get_settings())
    registry.register(Exploding())
    statuses: list[tuple[str, int]] = []
    # Empty until the app teaches it its settings: the receiver's runtime must do that.
    redactor = Redactor()
    setup_logging(settings, "receiver", redactor)
    try:
        with captured_sentry(settings, redactor) as sentry:
            app = create_app(settings, registry=registry, redactor=redactor)
            with TestClient(app, raise_server_exceptions=False) as client:
                for request in requests(secrets):
                    response = client.request(
                        request.method,
                        request.path,
                        content=request.body or None,
                        headers=request.headers,
                        params=request.params,
                    )
                    statuses.append((request.path, response.status_code))
                    assert not any(p in response.text for p in _forbidden(secrets))
        sys.stderr.flush()
        logs = capsys.readouterr().err
    finally:
        from loguru import logger

        logger.remove()
    _assert_drove_everything(statuses, logs)
    _assert_clean(secrets, logs, sentry)


def test_no_secret_leaves_a_failing_worker(
    secrets: dict[str, str], db: sessionmaker[Session], capsys: pytest.CaptureFixture[str]
) -> None:
    """The worker side: a provider's payload() and a handler raise with secrets."""
    handlers = HandlerRegistry()
    handlers.register("exploding", "*", failing_handler)
    registry = build_registry(get_settings())
    registry.register(Exploding())
    redactor = Redactor()  # the worker's, taught by its runtime's Deps
    deps = Deps(get_settings(), providers=ProviderSettingsSet.from_env(), redactor=redactor)
    service = EventService(db, registry, handlers, RetryPolicy(max_attempts=2), deps=deps)
    secret_header = {"x-telegram-bot-api-secret-token": "tg-secret-1"}
    for log_format in ("text", "json"):
        envelopes = [
            Envelope("exploding", f"{log_format}{n}", "boom", body, datetime.now(UTC),
                     secret_header, "r1")
            for n, body in enumerate([b"unparsable", b"{}"])
        ]  # fmt: skip
        settings = Settings(log_format=log_format, log_level="DEBUG")  # type: ignore[arg-type]
        setup_logging(settings, "worker", redactor)
        try:
            with captured_sentry(settings, redactor) as sentry:
                service.ingest(envelopes)  # first attempt: fails, to be retried
                service.process([e.id for e in _all_events(db)])  # second: dead
            sys.stderr.flush()
            logs = capsys.readouterr().err
        finally:
            from loguru import logger

            logger.remove()
        assert "handler failed for" in logs and "cannot parse with" in logs
        _assert_clean(secrets, logs, sentry)


def _all_events(db: sessionmaker[Session]) -> list[Event]:
    with db() as session:
        return list(session.scalars(select(Event)))


def _forbidden(secrets: dict[str, str]) -> list[str]:
    return [p for value in secrets.values() for p in pieces(value)] + [DB_PASSWORD]


def _assert_drove_everything(statuses: list[tuple[str, int]], logs: str) -> None:
    accepted = [path for path, status in statuses if status == 200]
    for name in CASES:  # each provider's valid request went through
        assert any(path.startswith(f"/webhooks/{name}") for path in accepted), name
    assert ("/webhooks/exploding/reply", 500) in statuses  # the crash after acceptance
    assert ("/webhooks/exploding", 400) in statuses  # the crash inside accept
    assert "unreadable request: RuntimeError" in logs
    assert "KeyError" in logs and "health check database failed" in logs


def _assert_clean(secrets: dict[str, str], logs: str, sentry: MemoryTransport) -> None:
    events = sentry.events()
    assert events, "the crash after acceptance reaches Sentry"
    sent = b"\n".join(sentry.items()).decode()
    for piece in _forbidden(secrets):
        assert piece not in logs, f"{piece!r} is in the logs"
        assert piece not in sent, f"{piece!r} is in a Sentry event"
    for event in events:
        for exception in event.get("exception", {}).get("values", []):
            for frame in exception.get("stacktrace", {}).get("frames", []):
                assert "vars" not in frame
        assert "data" not in event.get("request", {})


def without_source(event: dict[str, Any]) -> dict[str, Any]:
    """The event without the source lines around each frame (this test's own code)."""
    for exception in event.get("exception", {}).get("values", []):
        for frame in exception.get("stacktrace", {}).get("frames", []):
            for key in ("pre_context", "context_line", "post_context"):
                frame.pop(key, None)
    return event


def test_sentry_event_has_no_frame_variables_nor_secret_headers() -> None:
    """Without any known secret: frame values and signature headers are dropped by name."""
    with captured_sentry() as sentry:
        import sentry_sdk

        with sentry_sdk.new_scope() as scope:
            scope.set_context(
                "request", {"headers": {"Stripe-Signature": "t=1,v1=abc", "X-Ok": "fine"}}
            )
            scope.set_extra("SignatureValue", "deadbeef")
            local_value = "-".join(["frame", "local", "value"])  # built at run time
            try:
                raise ValueError("boom " + str(len(local_value)))
            except ValueError as exc:
                sentry_sdk.capture_exception(exc)
    (event,) = sentry.events()
    text = json.dumps(without_source(event))
    assert local_value not in text
    assert "abc" not in json.dumps(event["contexts"]["request"]) and "fine" in text
    assert "deadbeef" not in text


def test_sentry_collects_no_bodies_task_arguments_or_user_data() -> None:
    with captured_sentry():
        import sentry_sdk

        options = sentry_sdk.get_client().options
        assert options["max_request_body_size"] == "never"
        assert not options["include_local_variables"]
        collection = options.get("data_collection")
        if collection is None:  # an SDK without data_collection
            assert options["send_default_pii"] is False
        else:
            assert not collection["user_info"] and not collection["queues"]
            assert collection["http_bodies"] == [] and not collection["stack_frame_variables"]
            assert collection["cookies"]["mode"] == "off"


def test_sentry_breadcrumbs_are_scrubbed(secrets: dict[str, str]) -> None:
    redactor = Redactor(Settings(), *ProviderSettingsSet.from_env().all())
    with captured_sentry(redactor=redactor) as sentry:
        import sentry_sdk

        sentry_sdk.add_breadcrumb(message=f"called with {secrets['STRIPE_API_KEY']}")
        sentry_sdk.add_breadcrumb(category="http", data={"Authorization": "Basic Zm9vOmJhcg=="})
        sentry_sdk.capture_message("after the breadcrumbs")
    text = json.dumps(sentry.events())
    assert secrets["STRIPE_API_KEY"] not in text and "Zm9vOmJhcg==" not in text
    assert "called with [redacted]" in text


def test_log_tracebacks_carry_no_variable_values(capsys: pytest.CaptureFixture[str]) -> None:
    for log_format in ("text", "json"):
        settings = Settings(log_format=log_format)  # type: ignore[arg-type]
        setup_logging(settings, "receiver", Redactor(settings))
        from loguru import logger

        local_value = "-".join(["frame", "local", "value"])  # built at run time
        try:
            raise ValueError(len(local_value))
        except ValueError:
            logger.exception("failed")
        finally:
            sys.stderr.flush()
            logger.remove()
        err = capsys.readouterr().err
        assert "ValueError" in err and local_value not in err, log_format


def test_secret_in_an_exception_message_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(sentry_dsn=SecretStr("https://maskme0key0123@sentry.invalid/1"))
    setup_logging(settings, "worker", Redactor(settings))
    from loguru import logger

    try:
        logger.error("sending to https://maskme0key0123@sentry.invalid/1 failed")
    finally:
        sys.stderr.flush()
        logger.remove()
    err = capsys.readouterr().err
    assert "maskme0key0123" not in err and "[redacted]" in err


def test_header_pairs_are_filtered_by_name_and_source_lines_kept() -> None:
    from pipeline.sentry import FILTERED, Scrubber

    event: Any = {
        "request": {"headers": [["Authorization", "Basic abc"], ["Accept", "*/*"]], "data": "x"},
        "exception": {"values": [{"stacktrace": {"frames": [
            {"pre_context": ["token = read()", "check(token)"], "vars": {"token": "t"}}
        ]}}]},
    }  # fmt: skip
    scrubbed: Any = Scrubber(Redactor()).event(event)
    assert scrubbed["request"] == {"headers": [["Authorization", FILTERED], ["Accept", "*/*"]]}
    (frame,) = scrubbed["exception"]["values"][0]["stacktrace"]["frames"]
    assert frame == {"pre_context": ["token = read()", "check(token)"]}
