"""`pipeline staff`, `pipeline apikeys` and the start-up checks of `pipeline api`."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli import app
from cli.api import DEV_KEY_FILE, ensure_signing_key
from pipeline.auth import apikeys
from pipeline.runtime import Services
from pipeline.settings import get_settings
from schema.staff import ApiKey

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_staff_add_list_and_set(db: sessionmaker[Session]) -> None:
    assert "admin@example.com (admin)" in run(
        "staff", "add", "Admin@Example.com", "--role", "admin"
    )
    duplicate = runner.invoke(app, ["staff", "add", "admin@example.com"])
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output
    wrong = runner.invoke(app, ["staff", "add", "x@example.com", "--role", "root"])
    assert wrong.exit_code == 1 and "unknown role" in wrong.output
    run("staff", "set", "admin@example.com", "--role", "operator", "--inactive")
    [row] = json.loads(run("staff", "list", "--json"))
    assert (row["email"], row["role"], row["active"]) == ("admin@example.com", "operator", False)
    assert runner.invoke(app, ["staff", "set", "nobody@example.com"]).exit_code == 1


def test_apikeys_create_list_revoke(db: sessionmaker[Session]) -> None:
    result = runner.invoke(
        app,
        [
            "apikeys",
            "create",
            "--name",
            "grafana",
            "--scope",
            "events:read",
            "--scope",
            "stats:read",
        ],
    )
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    with db() as session:
        row = apikeys.find_key(session, key)
        assert row is not None and row.scopes == ["events:read", "stats:read"]
        key_id = row.id
    listed = run("apikeys", "list")
    assert "grafana" in listed and key not in listed and f"pk_{row.prefix}_…" in listed
    run("apikeys", "revoke", str(key_id))
    assert "grafana" not in run("apikeys", "list") and "REVOKED" in run("apikeys", "list", "--all")
    assert runner.invoke(app, ["apikeys", "revoke", "999"]).exit_code == 1
    bad = runner.invoke(app, ["apikeys", "create", "--name", "x", "--scope", "events:nuke"])
    assert bad.exit_code == 1 and "unknown scope" in bad.output
    with db() as session:
        assert len(session.scalars(select(ApiKey)).all()) == 1


@pytest.mark.parametrize("key", ["", "change-me-please-to-a-long-random-value-ok"])
def test_api_refuses_to_start_without_a_real_key(
    db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    monkeypatch.setenv("API_JWT_SECRET", key)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("BROKER_URL", "redis://127.0.0.1:1/0")
    result = runner.invoke(app, ["api", "--port", "1"])
    assert result.exit_code == 2
    assert "refusing to start" in result.output and "API_JWT_SECRET" in result.output


def test_embedded_setup_gets_a_kept_generated_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("API_JWT_SECRET", raising=False)
    services = Services(
        "postgresql://x/y", "redis://x", "redis://x", tmp_path, embedded=["postgresql"]
    )
    ensure_signing_key(services)
    first = get_settings().api_jwt_secret
    assert first is not None and len(first.get_secret_value()) >= 32
    assert stat.S_IMODE((tmp_path / DEV_KEY_FILE).stat().st_mode) == 0o600
    monkeypatch.delenv("API_JWT_SECRET")
    ensure_signing_key(services)  # the next start keeps it
    again = get_settings().api_jwt_secret
    assert again is not None and again.get_secret_value() == first.get_secret_value()


def test_configured_database_gets_no_generated_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("API_JWT_SECRET", raising=False)
    ensure_signing_key(Services("postgresql://x/y", "redis://x", "redis://x", tmp_path))
    assert get_settings().api_jwt_secret is None
    assert not (tmp_path / DEV_KEY_FILE).exists()
