"""Without TELEGRAM_BOT_TOKEN, Telegram-bound work waits: one warning, no traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pipeline.settings import get_settings
from pipeline.telegram import api
from tests.support.logs import log_records

if TYPE_CHECKING:
    pass  # in loguru's stubs only


def test_telegram_bound_tasks_wait_quietly_without_a_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workers.celery_app import app
    from workers.tasks.business import send_notifications
    from workers.tasks.telegram import handle_chat_updates

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    # A worker has a database; these tasks wait before they would use it.
    monkeypatch.setenv("DATABASE_URL", "postgresql://unused@127.0.0.1:9/db")
    get_settings.cache_clear()
    app.reset_runtime()  # a worker process starting without a token
    try:
        with log_records("WARNING") as records:
            # Beat runs the sweep every few seconds; none of the runs may raise.
            assert [send_notifications() for _ in range(3)] == [0, 0, 0]
            assert handle_chat_updates(42) == 0  # a stored update waits for the token
    finally:
        get_settings.cache_clear()
        app.reset_runtime()
    assert len(records) == 1, [r["message"] for r in records]
    assert "TELEGRAM_BOT_TOKEN is not set" in records[0]["message"]
    assert records[0]["exception"] is None


def test_the_client_still_refuses_to_be_built_without_a_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    get_settings.cache_clear()
    with pytest.raises(api.NoBotToken):
        api.BotApi(get_settings())
    get_settings.cache_clear()
