"""The API builds what its requests share once, on `app.state.runtime`: the provider
registry and every provider's settings are not read again per request."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.runtime import ApiRuntime
from pipeline.providers.config import ProviderSettings
from pipeline.settings import Settings
from tests.api.conftest import bearer


def test_the_api_builds_its_providers_once(
    api_settings: Settings, staff_token: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    settings_init = ProviderSettings.__init__

    def counted_init(self: ProviderSettings, *args: Any, **kwargs: Any) -> None:
        made.append(type(self).__name__)
        settings_init(self, *args, **kwargs)

    monkeypatch.setattr(ProviderSettings, "__init__", counted_init)
    with TestClient(create_app(api_settings)) as client:
        runtime: ApiRuntime = client.app.state.runtime  # type: ignore[attr-defined]
        headers = bearer(staff_token("viewer"))
        first = client.get("/api/v1/providers", headers=headers)
        assert first.status_code == 200, first.text
        built, registry = len(made), runtime.registry()
        assert built >= 10  # every provider's settings, once
        assert client.get("/api/v1/providers", headers=headers).json() == first.json()
        assert runtime.registry() is registry
        assert len(made) == built, made[built:]
