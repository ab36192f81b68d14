"""The mask every log line, Sentry event, error answer, alert and stored error passes
through: a process's `Redactor`, built from the settings it reads, and the shapes."""

from __future__ import annotations

import dataclasses
import sys
from urllib.parse import quote

import pytest
from loguru import logger
from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.alerts import raise_alert
from pipeline.deps import Deps
from pipeline.logging import setup_logging
from pipeline.providers.settings_set import ProviderSettingsSet
from pipeline.providers.stripe import StripeSettings
from pipeline.providers.tbank import TBankSettings
from pipeline.providers.yookassa import YooKassaSettings
from pipeline.redaction import MASK, STORED_ERROR_MAX_CHARS, Redactor, mask_shapes
from pipeline.settings import Settings
from schema.messaging import Notification


def test_a_redactor_of_settings_knows_each_piece_of_their_secrets() -> None:
    settings = Settings(
        flower_basic_auth=SecretStr("ops:flower-pass-1,ops2:flower-pass-2"),
        telegram_bot_token=SecretStr("12345:bot-token-abcdef"),
        database_url="postgresql://pipeline:db-pass%40word@db:5432/pipeline",
        sentry_dsn=SecretStr("https://dsnkey0123456@o1.ingest.sentry.io/9"),
    )
    secrets = Redactor(settings).known()
    pieces = ["flower-pass-1", "flower-pass-2", "12345:bot-token-abcdef", "bot-token-abcdef"]
    pieces += ["db-pass@word", "db-pass%40word", "dsnkey0123456"]
    for piece in pieces:
        assert piece in secrets, piece
    assert "pipeline" not in secrets and "ops" not in secrets  # user names are not secrets


def test_settings_built_without_a_redactor_register_nothing() -> None:
    """No hidden state: reading settings has no effect on any Redactor."""
    before = Redactor()
    Settings(telegram_webhook_secret=SecretStr("unregistered-canary-secret"))
    StripeSettings(webhook_secret=SecretStr("whsec_unregistered-canary"))
    assert before.known() == frozenset()
    assert Redactor().known() == frozenset()
    assert Redactor().redact("unregistered-canary-secret") == "unregistered-canary-secret"


def test_two_redactors_are_independent() -> None:
    one = Redactor(Settings(telegram_webhook_secret=SecretStr("first-canary-secret")))
    two = Redactor()
    two.remember("second-canary-secret")
    assert one.redact("first-canary-secret second-canary-secret") == (
        f"{MASK} second-canary-secret"
    )
    assert two.redact("first-canary-secret second-canary-secret") == (f"first-canary-secret {MASK}")


def test_settings_read_later_are_learned_explicitly() -> None:
    redactor = Redactor(Settings())
    later = StripeSettings(api_key=SecretStr("sk_later-canary-key"))
    assert "sk_later-canary-key" not in redactor.known()
    redactor.learn(later)
    assert redactor.redact("key sk_later-canary-key") == f"key {MASK}"


def test_a_deps_redactor_learns_its_settings_and_providers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", "sk_deps-canary-key")
    given = Redactor()
    deps = Deps(
        Settings(api_jwt_secret=SecretStr("deps-canary-jwt")),
        providers=ProviderSettingsSet.from_env(),
        redactor=given,
    )
    assert deps.redactor is given
    assert {"deps-canary-jwt", "sk_deps-canary-key"} <= given.known()
    lazy = Deps(Settings(), redactor=Redactor())  # providers read at first use
    assert "sk_deps-canary-key" not in lazy.redactor.known()
    assert lazy.providers.stripe.api_key is not None
    assert "sk_deps-canary-key" in lazy.redactor.known()
    # Made by hand: built from the Deps' own settings and the providers' from the environment.
    assert "sk_deps-canary-key" in Deps(Settings()).redactor.known()


def test_redact_masks_the_longest_match_anywhere() -> None:
    redactor = Redactor(
        Settings(telegram_webhook_secret=SecretStr("outer-secret-value,secret-value"))
    )
    assert redactor.redact("x outer-secret-value y") == f"x {MASK} y"
    assert redactor.redact("secret-value!") == f"{MASK}!"
    nested = redactor.redact_data(
        {"a": ["outer-secret-value", 1, ("secret-value",)], "secret-value": 2}
    )
    assert nested == {"a": [MASK, 1, (MASK,)], MASK: 2}


def test_short_values_are_not_masked() -> None:
    redactor = Redactor(Settings(telegram_webhook_secret=SecretStr("abc")))
    assert "abc" not in redactor.known()
    assert redactor.redact("abc abc") == "abc abc"


def test_alert_texts_are_masked(db: sessionmaker[Session]) -> None:
    settings = Settings(alert_chat_id=-100, telegram_bot_token=SecretStr("1:alert-canary-token"))
    with db() as session:
        text = "call failed: https://x/bot1:alert-canary-token/send"
        raise_alert(session, "k", text, settings=settings, redactor=Redactor(settings))
        session.commit()
        texts = [n.text or "" for n in session.scalars(select(Notification))]
    assert texts and all("alert-canary-token" not in t and MASK in t for t in texts)


def test_telegram_bot_tokens_are_masked_without_being_configured() -> None:
    token = "987654321:AAF" + "x" * 32  # no settings know it
    url = f"https://api.telegram.org/bot{token}/sendMessage"
    assert mask_shapes(f"Client error for url '{url}'") == (
        f"Client error for url 'https://api.telegram.org/bot{MASK}/sendMessage'"
    )
    assert mask_shapes(f"token={token}") == f"token={MASK}"
    assert Redactor().redact(f"token={token}") == f"token={MASK}"  # a Redactor applies them
    assert mask_shapes("at 12:30, order 12345:7, id 1234567:short") == (
        "at 12:30, order 12345:7, id 1234567:short"
    )


def test_stored_errors_are_masked_before_they_are_cut() -> None:
    redactor = Redactor(Settings(telegram_webhook_secret=SecretStr("stored-error-canary-secret")))
    text = "x" * 10 + "stored-error-canary-secret"
    assert redactor.stored_error(text, limit=20) == "x" * 10 + MASK
    assert len(redactor.stored_error("y" * 5000)) == STORED_ERROR_MAX_CHARS


def test_issued_credentials_and_credential_parameters_are_masked_by_shape() -> None:
    key = "pk_0123456789_" + "k" * 43
    refresh, cookie = "rt_" + "r" * 43, "cs_" + "c" * 43
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwic2lkIjoyfQ." + "s" * 43
    line = f'127.0.0.1:5 - "WebSocket /api/v1/ws?token={jwt}&topics=events" [accepted]'
    assert (
        mask_shapes(line)
        == f'127.0.0.1:5 - "WebSocket /api/v1/ws?token={MASK}&topics=events" [accepted]'
    )
    assert mask_shapes(f"{key} {refresh} {cookie} Bearer {jwt}") == (
        f"{MASK} {MASK} {MASK} Bearer {MASK}"
    )
    assert mask_shapes("/miniapp?initData=query_id%3DAA&lang=ru") == (
        f"/miniapp?initData={MASK}&lang=ru"
    )
    ordinary = "/api/v1/events?status=dead&source=stripe pk_test rt_short"
    assert mask_shapes(ordinary) == ordinary


def test_secrets_are_masked_as_json_escapes_them(capsys: pytest.CaptureFixture[str]) -> None:
    password = 'db-pass"with\\quote-ä'
    settings = Settings(
        database_url=f"postgresql://pipeline:{quote(password)}@db/pipeline", log_format="json"
    )
    setup_logging(settings, "worker", Redactor(settings))
    try:
        logger.error("connect with {} failed", password)
    finally:
        sys.stderr.flush()
        logger.remove()
    line = capsys.readouterr().err
    assert "db-pass" not in line and MASK in line


def test_a_settings_error_does_not_repeat_the_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """The error of a wrongly set variable reaches a terminal or a log before any Redactor
    knows the value: it names the field and the reason, never the input (a secret's
    validator says which entry is wrong without echoing it)."""
    monkeypatch.setenv("TBANK_TERMINALS", "term-1-secret-pass-1234")
    monkeypatch.setenv("YOOKASSA_ALLOWED_NETWORKS", "10.0.0.0/8,bad")
    for kind in (TBankSettings, YooKassaSettings):
        with pytest.raises(ValidationError) as raised:
            kind()
        text = str(raised.value)
        assert "secret-pass-1234" not in text and "10.0.0.0/8,bad" not in text, text
        assert "input_value" not in text


def test_a_wrongly_set_provider_leaves_the_others_readable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What a command that may run with a provider misconfigured (a migration) learns its
    secrets from: every provider's settings that are valid."""
    monkeypatch.setenv("YOOKASSA_ALLOWED_NETWORKS", "not-a-network")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_readable_1234")
    with pytest.raises(ValidationError):
        ProviderSettingsSet.from_env()
    readable = ProviderSettingsSet.readable()
    assert not any(isinstance(s, YooKassaSettings) for s in readable)
    assert len(readable) == len(dataclasses.fields(ProviderSettingsSet)) - 1
    assert "whsec_readable_1234" in Redactor(*readable).known()
