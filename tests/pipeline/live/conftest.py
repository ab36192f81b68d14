"""Live updates: a Redis namespace per test (REDIS_URL, QUEUE_PREFIX)."""

from __future__ import annotations

import uuid

import pytest

from pipeline.settings import get_settings
from tests.support.services import TestServices


@pytest.fixture
def live_redis(services: TestServices, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REDIS_URL", services.redis_url)
    monkeypatch.setenv("QUEUE_PREFIX", f"live{uuid.uuid4().hex[:8]}-")
    get_settings.cache_clear()
    return services.redis_url
