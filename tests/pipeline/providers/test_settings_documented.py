"""Every provider setting is in .env.example, named <PROVIDER>_<FIELD>; and the
`providers list` command shows every built-in provider with its route."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings
from typer.testing import CliRunner

from cli import app as cli
from pipeline.providers.registry import build_registry
from pipeline.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[3]
DOCUMENTED = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
BUILT_IN = ["alertmanager", "atol", "cloudkassir", "cloudpayments", "orangedata", "robokassa",
            "stripe", "tbank", "telegram", "yookassa"]  # fmt: skip


def _env_names(settings: BaseSettings) -> set[str]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    return {f"{prefix}{name}".upper() for name in type(settings).model_fields}


@pytest.mark.parametrize("name", BUILT_IN)
def test_provider_settings_are_in_env_example(name: str) -> None:
    provider = build_registry(get_settings(), with_plugins=False).get(name)
    settings = getattr(provider, "settings", None)
    assert isinstance(settings, BaseSettings)
    missing = _env_names(settings) - DOCUMENTED
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_trusted_proxies_is_in_env_example() -> None:
    assert "TRUSTED_PROXIES" in _env_names(Settings()) & DOCUMENTED


def test_providers_list() -> None:
    result = CliRunner().invoke(cli, ["providers", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert sorted(rows) == BUILT_IN
    assert rows["cloudpayments"]["route"] == "/webhooks/cloudpayments/{kind}"
    assert rows["robokassa"]["methods"] == ["GET", "POST"]
    assert rows["tbank"]["configured"] is True  # the test environment configures all
    assert all(row["verifies"] for row in rows.values())
