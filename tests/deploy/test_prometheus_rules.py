"""The alert rules and the Alertmanager configuration checked by the real tools:
`promtool check rules`, `promtool test rules` (docker/prometheus/tests/, where every
rule must both fire and stay silent at least once) and `amtool check-config`."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.monitoring_tools import amtool, promtool

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "docker/prometheus/rules").glob("*.yml"))
RULE_TESTS = sorted((ROOT / "docker/prometheus/tests").glob("*.yml"))
ALERTMANAGER_CONFIGS = [
    ROOT / "docker/alertmanager/alertmanager.yml",
    ROOT / "k8s/monitoring/alertmanager.yml",
]


def _run(*args: str | Path) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def alert_names() -> set[str]:
    names: set[str] = set()
    for path in RULES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            names.update(rule["alert"] for rule in group["rules"] if "alert" in rule)
    return names


def rule_test_cases() -> tuple[set[str], set[str]]:
    """Alert names with an expected firing, and with an expected silence."""
    fires: set[str] = set()
    silent: set[str] = set()
    for path in RULE_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            case: dict[str, Any]
            for case in test.get("alert_rule_test", []):
                (fires if case.get("exp_alerts") else silent).add(case["alertname"])
    return fires, silent


def test_rules_are_valid() -> None:
    output = _run(promtool(), "check", "rules", *RULES)
    assert output.count("SUCCESS") == len(RULES)


def test_rule_unit_tests_pass() -> None:
    output = _run(promtool(), "test", "rules", *RULE_TESTS)
    assert output.count("SUCCESS") == len(RULE_TESTS), output


def test_every_rule_is_tested_firing_and_silent() -> None:
    names = alert_names()
    fires, silent = rule_test_cases()
    assert len(names) >= 12
    assert names - fires == set(), "rules never shown to fire"
    assert names - silent == set(), "rules never shown to stay silent"
    assert (fires | silent) <= names, "tests of rules that do not exist"


@pytest.mark.parametrize("path", ALERTMANAGER_CONFIGS, ids=lambda p: p.parent.name)
def test_alertmanager_config_is_valid(path: Path, tmp_path: Path) -> None:
    output = _run(amtool(), "check-config", path)
    assert "SUCCESS" in output
    config = yaml.safe_load(path.read_text())
    (receiver,) = [r for r in config["receivers"] if r["name"] == config["route"]["receiver"]]
    (webhook,) = receiver["webhook_configs"]
    assert webhook["url"].endswith("/webhooks/alertmanager") and webhook["send_resolved"]
    assert webhook["http_config"]["authorization"]["credentials_file"]
