"""A real Prometheus and a real Alertmanager as processes of a test: own ports, own data
directories, short intervals; and queries against Prometheus' HTTP API."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.monitoring_tools import alertmanager, prometheus
from tests.support.processes import free_port, stop, wait_until

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "docker/prometheus/rules"


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _ready(url: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    if process.poll() is not None:
        raise AssertionError(log.read_text(errors="replace")[-3000:])
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def derived_rules(windows: dict[str, str]) -> dict[str, Any]:
    """Every rule of docker/prometheus/rules, with the range windows of the named alerts
    shortened ({"EventsDead": "30s"}): the real expressions, on a test's time scale."""
    groups = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                window = windows.get(rule.get("alert", ""))
                if window:
                    expr = str(rule["expr"])
                    start, end = expr.index("["), expr.index("]")
                    rule["expr"] = f"{expr[: start + 1]}{window}{expr[end:]}"
            groups.append(group)
    return {"groups": groups}


@contextmanager
def running_alertmanager(webhook_url: str, token: str, workdir: Path) -> Iterator[str]:
    """Alertmanager routing everything to `webhook_url` with a bearer token, grouping
    for a second only."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "token").write_text(token)
    config = yaml.safe_load((ROOT / "docker/alertmanager/alertmanager.yml").read_text())
    config["route"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")
    (webhook,) = config["receivers"][0]["webhook_configs"]
    webhook["url"] = webhook_url
    webhook["http_config"]["authorization"]["credentials_file"] = str(workdir / "token")
    (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
    port, log = free_port(), workdir / "alertmanager.log"
    process = _start(
        [
            alertmanager(),
            f"--config.file={workdir / 'alertmanager.yml'}",
            f"--storage.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(f"{base}/-/ready", process, log), 30, "Alertmanager")
        yield base
    finally:
        stop(process)


@dataclass
class Prometheus:
    base: str

    def query(self, expr: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.base}/api/v1/query", params={"query": expr}, timeout=10)
        answer.raise_for_status()
        result: list[dict[str, Any]] = answer.json()["data"]["result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.base}/api/v1/alerts", timeout=10)
        alerts: list[dict[str, Any]] = answer.json()["data"]["alerts"]
        return alerts

    def rules(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.base}/api/v1/rules", timeout=10)
        groups = answer.json()["data"]["groups"]
        return [rule for group in groups for rule in group["rules"]]

    def targets_up(self) -> dict[str, str]:
        answer = httpx.get(f"{self.base}/api/v1/targets", timeout=10)
        return {t["labels"]["job"]: t["health"] for t in answer.json()["data"]["activeTargets"]}


@contextmanager
def running_prometheus(
    targets: dict[str, str], rules: dict[str, Any], alertmanager_url: str, workdir: Path
) -> Iterator[Prometheus]:
    """Prometheus scraping `targets` ({job: "host:port"}) every second and evaluating
    `rules` every second, alerting to `alertmanager_url`."""
    workdir.mkdir(parents=True, exist_ok=True)
    port, log = free_port(), workdir / "prometheus.log"
    (workdir / "rules.yml").write_text(yaml.safe_dump(rules))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [alertmanager_url.removeprefix("http://")]}]}
            ]
        },
        "rule_files": [str(workdir / "rules.yml")],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [target]}]}
            for job, target in {"prometheus": f"127.0.0.1:{port}", **targets}.items()
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    process = _start(
        [
            prometheus(),
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            # Resolved alerts go out at once, firing ones are re-sent every few seconds.
            "--rules.alert.resend-delay=2s",
        ],
        log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(f"{base}/-/ready", process, log), 60, "Prometheus")
        yield Prometheus(base)
    finally:
        stop(process)
