"""Readiness is the broker alone; the system report covers database, broker, workers and
beat; neither answers with exception texts."""

from __future__ import annotations

import pytest
import redis
from starlette.testclient import TestClient

from adapters.health import system_health
from pipeline.alerts.probes import beat_alive, beat_heart
from pipeline.settings import Settings
from tests.support.processes import free_port
from tests.support.services import TestServices
from tests.support.tcp_proxy import DOWN, FORWARD, proxied_url
from webhooks.main import create_app

DEAD_DATABASE = "postgresql://nobody:secret-password@127.0.0.1:{port}/none"


def settings_for(broker: str, database: str, redis_url: str) -> Settings:
    return Settings(database_url=database, broker_url=broker, redis_url=redis_url)


def test_readiness_ignores_the_database_and_hides_errors(
    services: TestServices, queue_prefix: str
) -> None:
    proxy, broker = proxied_url(services.redis_url)
    dead_db = DEAD_DATABASE.format(port=free_port())
    try:
        settings = settings_for(broker, dead_db, services.redis_client_url)
        with TestClient(create_app(settings)) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text  # the database is down: still ready
            assert ready.json() == {"status": "ready", "checks": {"broker": "ok"}}
            proxy.set_mode(DOWN)
            down = client.get("/readyz")
            assert down.status_code == 503
            assert down.json()["checks"] == {"broker": "unreachable"}
            proxy.set_mode(FORWARD)
            system = client.get("/healthz/system")
            assert system.status_code == 503
            checks = system.json()["checks"]
            assert checks["database"] == "unreachable" and checks["broker"] == "ok"
            assert "secret-password" not in system.text and "Error" not in system.text
    finally:
        proxy.close()


def test_system_health_reads_heartbeats(
    services: TestServices, database_url: str, queue_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUEUE_PREFIX", f"{queue_prefix}health-")
    settings = settings_for(services.redis_url, database_url, services.redis_client_url)
    report = system_health(settings)
    assert report.checks == {
        "database": "ok",
        "broker": "ok",
        "workers": "no worker heartbeat",
        "beat": "no beat heartbeat",
    }
    client = redis.Redis.from_url(services.redis_client_url)
    beat_heart(client, 60, "host:1")
    beat_alive(client, 60)
    report = system_health(settings)
    assert report.healthy and report.as_json()["status"] == "ok"


def test_health_command_exits_1_when_degraded(
    services: TestServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cli import app
    from pipeline.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", DEAD_DATABASE.format(port=free_port()))
    monkeypatch.setenv("BROKER_URL", services.redis_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["health"])
    assert result.exit_code == 1, result.output
    assert '"database": "unreachable"' in result.output
    assert '"broker": "ok"' in result.output
