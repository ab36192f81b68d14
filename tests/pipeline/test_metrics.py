"""Metrics: /metrics parses and moves when events flow; workers add up across processes;
the dashboard and the alert rules only query metrics that exist."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from pipeline.deps import Deps
from pipeline.metrics import metric_names
from pipeline.settings import get_settings
from tests.pipeline.events.test_service import stripe_envelope
from tests.support.signing import stripe_event, stripe_headers

ROOT = Path(__file__).resolve().parents[2]
METRIC = re.compile(r"\b(pipeline_[a-z_]+)")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def client(
    broker_url: str, database_url: str, services: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    from webhooks.main import create_app

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", services.redis_url)  # type: ignore[attr-defined]
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as test_client:
        yield test_client


def test_receiver_metrics_parse_and_move(client: TestClient, db: sessionmaker[Session]) -> None:
    before = client.get("/metrics").text
    body = stripe_event("evt_metrics")
    assert (
        client.post("/webhooks/stripe", content=body, headers=stripe_headers(body)).status_code
        == 200
    )
    bad = stripe_headers(body, secret="whsec_wrong")
    assert client.post("/webhooks/stripe", content=body, headers=bad).status_code == 401
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    after = response.text
    name = "pipeline_webhooks_total"
    for outcome in ("accepted", "rejected"):
        moved = value(after, name, provider="stripe", outcome=outcome)
        assert moved - value(before, name, provider="stripe", outcome=outcome) == 1
    rejected = "pipeline_signature_rejections_total"
    assert (
        value(after, rejected, provider="stripe") - value(before, rejected, provider="stripe") == 1
    )
    count = "pipeline_webhook_duration_seconds_count"
    assert value(after, count, provider="stripe") - value(before, count, provider="stripe") == 2

    # Events flowing through a worker's service move the event metrics.
    from pipeline.events.handlers import load_handler_modules
    from pipeline.events.service import EventService
    from pipeline.providers.registry import build_registry
    from pipeline.retry import RetryPolicy

    service = EventService(
        db,
        build_registry(get_settings(), with_plugins=False),
        load_handler_modules(grpc_sources=get_settings().grpc_sources),
        RetryPolicy(),
        deps=Deps.build(),
    )
    stored = service.store([stripe_envelope("evt_m1"), stripe_envelope("evt_m2")])
    service.process(stored.to_process)
    final = client.get("/metrics").text
    events = "pipeline_events_total"
    assert (
        value(final, events, source="stripe", status="processed")
        - value(after, events, source="stripe", status="processed")
        == 2
    )
    latency = "pipeline_event_latency_seconds_count"
    assert value(final, latency, source="stripe") - value(after, latency, source="stripe") == 2


WRITER = """
from pipeline import metrics
metrics.EVENTS.labels("stripe", "processed").inc({n})
metrics.QUEUE_DEPTH.labels("ingest").set({n})
"""


def test_worker_processes_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for n in (2, 3):
        subprocess.run([sys.executable, "-c", WRITER.format(n=n)], env=env, check=True, cwd=ROOT)
    reader = "from pipeline import metrics; print(metrics.exposition()[0].decode())"
    out = subprocess.run(
        [sys.executable, "-c", reader],
        env=env,
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout
    assert value(out, "pipeline_events_total", source="stripe", status="processed") == 5
    assert value(out, "pipeline_queue_depth", queue="ingest") in (2, 3)


def expressions_of_dashboard() -> list[str]:
    dashboard = json.loads((ROOT / "docker/grafana/dashboards/pipeline.json").read_text())
    assert dashboard["uid"] and dashboard["panels"]
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def expressions_of_rules() -> list[str]:
    rules = yaml.safe_load((ROOT / "docker/prometheus/rules/pipeline.yml").read_text())
    found = []
    for group in rules["groups"]:
        assert group["name"] and group["rules"]
        for rule in group["rules"]:
            assert {"alert", "expr"} <= set(rule) and rule["annotations"]["summary"]
            found.append(str(rule["expr"]))
    return found


@pytest.mark.parametrize("source", ["dashboard", "rules"])
def test_every_query_names_a_metric_that_exists(source: str) -> None:
    exprs = expressions_of_dashboard() if source == "dashboard" else expressions_of_rules()
    known = metric_names()
    named = [name for expr in exprs for name in METRIC.findall(expr)]
    assert named, "no pipeline metric queried"
    assert sorted(set(named) - known) == []


def test_prometheus_and_grafana_provisioning_files_load() -> None:
    config = yaml.safe_load((ROOT / "docker/prometheus/prometheus.yml").read_text())
    assert "/etc/prometheus/rules/*.yml" in config["rule_files"]
    assert {job["job_name"] for job in config["scrape_configs"]} >= {"receiver", "worker"}
    provider = yaml.safe_load(
        (ROOT / "docker/grafana/provisioning/dashboards/pipeline.yml").read_text()
    )
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
