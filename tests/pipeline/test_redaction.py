"""The mask every log line and Sentry event passes through."""

from __future__ import annotations

import sys
from urllib.parse import quote

import pytest
from loguru import logger
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.alerts import raise_alert
from pipeline.logging import setup_logging
from pipeline.redaction import (
    MASK,
    STORED_ERROR_MAX_CHARS,
    known,
    redact,
    redact_data,
    stored_error,
)
from pipeline.settings import Settings
from schema.messaging import Notification


def test_settings_remember_each_piece_of_their_secrets() -> None:
    Settings(
        flower_basic_auth=SecretStr("ops:flower-pass-1,ops2:flower-pass-2"),
        telegram_bot_token=SecretStr("12345:bot-token-abcdef"),
        database_url="postgresql://pipeline:db-pass%40word@db:5432/pipeline",
        sentry_dsn=SecretStr("https://dsnkey0123456@o1.ingest.sentry.io/9"),
    )
    secrets = known()
    pieces = ["flower-pass-1", "flower-pass-2", "12345:bot-token-abcdef", "bot-token-abcdef"]
    pieces += ["db-pass@word", "db-pass%40word", "dsnkey0123456"]
    for piece in pieces:
        assert piece in secrets, piece
    assert "pipeline" not in secrets and "ops" not in secrets  # user names are not secrets


def test_redact_masks_the_longest_match_anywhere() -> None:
    Settings(telegram_webhook_secret=SecretStr("outer-secret-value,secret-value"))
    assert redact("x outer-secret-value y") == f"x {MASK} y"
    assert redact("secret-value!") == f"{MASK}!"
    nested = redact_data({"a": ["outer-secret-value", 1, ("secret-value",)], "secret-value": 2})
    assert nested == {"a": [MASK, 1, (MASK,)], MASK: 2}


def test_short_values_are_not_masked() -> None:
    Settings(telegram_webhook_secret=SecretStr("abc"))
    assert "abc" not in known()
    assert redact("abc abc") == "abc abc"


def test_alert_texts_are_masked(db: sessionmaker[Session]) -> None:
    settings = Settings(alert_chat_id=-100, telegram_bot_token=SecretStr("1:alert-canary-token"))
    with db() as session:
        text = "call failed: https://x/bot1:alert-canary-token/send"
        raise_alert(session, "k", text, settings=settings)
        session.commit()
        texts = [n.text or "" for n in session.scalars(select(Notification))]
    assert texts and all("alert-canary-token" not in t and MASK in t for t in texts)


def test_telegram_bot_tokens_are_masked_without_being_configured() -> None:
    token = "987654321:AAF" + "x" * 32  # no settings know it
    url = f"https://api.telegram.org/bot{token}/sendMessage"
    assert redact(f"Client error for url '{url}'") == (
        f"Client error for url 'https://api.telegram.org/bot{MASK}/sendMessage'"
    )
    assert redact(f"token={token}") == f"token={MASK}"
    assert redact("at 12:30, order 12345:7, id 1234567:short") == (
        "at 12:30, order 12345:7, id 1234567:short"
    )


def test_stored_errors_are_masked_before_they_are_cut() -> None:
    Settings(telegram_webhook_secret=SecretStr("stored-error-canary-secret"))
    text = "x" * 10 + "stored-error-canary-secret"
    assert stored_error(text, limit=20) == "x" * 10 + MASK
    assert len(stored_error("y" * 5000)) == STORED_ERROR_MAX_CHARS


def test_issued_credentials_and_credential_parameters_are_masked_by_shape() -> None:
    key = "pk_0123456789_" + "k" * 43
    refresh, cookie = "rt_" + "r" * 43, "cs_" + "c" * 43
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIiwic2lkIjoyfQ." + "s" * 43
    line = f'127.0.0.1:5 - "WebSocket /api/v1/ws?token={jwt}&topics=events" [accepted]'
    assert (
        redact(line)
        == f'127.0.0.1:5 - "WebSocket /api/v1/ws?token={MASK}&topics=events" [accepted]'
    )
    assert redact(f"{key} {refresh} {cookie} Bearer {jwt}") == f"{MASK} {MASK} {MASK} Bearer {MASK}"
    assert redact("/miniapp?initData=query_id%3DAA&lang=ru") == f"/miniapp?initData={MASK}&lang=ru"
    ordinary = "/api/v1/events?status=dead&source=stripe pk_test rt_short"
    assert redact(ordinary) == ordinary


def test_secrets_are_masked_as_json_escapes_them(capsys: pytest.CaptureFixture[str]) -> None:
    password = 'db-pass"with\\quote-ä'
    Settings(database_url=f"postgresql://pipeline:{quote(password)}@db/pipeline")
    setup_logging(Settings(log_format="json"), "worker")
    try:
        logger.error("connect with {} failed", password)
    finally:
        sys.stderr.flush()
        logger.remove()
    line = capsys.readouterr().err
    assert "db-pass" not in line and MASK in line
