"""The receiver builds its providers (and their settings) once, in `create_app`: the
requests that follow read nothing from the environment again."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from pipeline.messaging.queues import INGEST
from pipeline.providers.config import ProviderSettings
from pipeline.settings import get_settings
from tests.support.broker import purge, queued
from tests.support.signing import stripe_event, stripe_headers, telegram_headers, telegram_update
from webhooks.main import create_app


def test_the_receiver_builds_its_providers_once(
    broker_url: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    settings_init = ProviderSettings.__init__

    def counted_init(self: ProviderSettings, *args: Any, **kwargs: Any) -> None:
        made.append(type(self).__name__)
        settings_init(self, *args, **kwargs)

    monkeypatch.setattr(ProviderSettings, "__init__", counted_init)
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    purge(broker_url, INGEST)
    app = create_app(get_settings())
    built = len(made)
    assert built >= 10  # every provider's settings, once
    with TestClient(app) as client:
        for n in range(2):
            body = stripe_event(f"evt_once_{n}")
            response = client.post("/webhooks/stripe", content=body, headers=stripe_headers(body))
            assert response.status_code == 200, response.text
            update = telegram_update(n + 1)
            headers = telegram_headers("tg-secret-1")
            assert client.post("/webhooks/telegram", content=update, headers=headers).is_success
    assert queued(broker_url, INGEST) == 4
    assert len(made) == built, made[built:]  # none per request


@pytest.mark.parametrize(("configured", "expected"), [(None, 0.05), ("0", 0.0)])
def test_the_publishers_hold_is_the_operators_choice(
    broker_url: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    configured: str | None,
    expected: float,
) -> None:
    """PUBLISH_LINGER_MAX_S reaches the receiver's batching publisher; unset, up to 50 ms."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    if configured is None:
        monkeypatch.delenv("PUBLISH_LINGER_MAX_S", raising=False)
    else:
        monkeypatch.setenv("PUBLISH_LINGER_MAX_S", configured)
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as client:
        publisher = client.app.state.publisher  # type: ignore[attr-defined]
        assert publisher.linger_max_s == expected
