""".github/workflows: the GitHub workflow schema, the jobs the project relies on, pinned
actions, least privilege."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.schemas import schema_errors, vendored_schema

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


class Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: `on:` stays a key, as GitHub reads it."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf")
)


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(path.read_text(), Loader=Yaml12Loader)
    return data


def all_jobs() -> dict[str, dict[str, Any]]:
    return {name: job for path in WORKFLOWS for name, job in load(path)["jobs"].items()}


def commands(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job.get("steps", []))


def uses(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for step in job.get("steps", []) if "uses" in step]


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "image.yml", "audit.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_matches_the_workflow_schema(path: Path) -> None:
    errors = schema_errors(vendored_schema("github-workflows"), load(path))
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_and_pinned_actions(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}, "read-only by default"
    for job in workflow["jobs"].values():
        assert "timeout-minutes" in job or "uses" in job or "needs" in job
        for step in uses(job):
            assert re.search(r"@(v\d+(\.\d+)*|[0-9a-f]{40})$", step["uses"]), step["uses"]


def test_lint_types_tests_docs_image_audit() -> None:
    jobs = all_jobs()
    lint = commands(jobs["lint"])
    assert "ruff check" in lint and "ruff format --check" in lint
    assert "mypy" in commands(jobs["types"])
    docs = commands(jobs["docs"])
    assert "mkdocs build --strict" in docs and "gen_config_docs.py --check" in docs
    assert "pip-audit" in commands(jobs["audit"])
    (build,) = [s for s in uses(jobs["image"]) if s["uses"].startswith("docker/build-push")]
    assert build["with"]["file"] == "docker/Dockerfile" and build["with"]["context"] == "."


def test_tests_run_against_real_services() -> None:
    tests = all_jobs()["tests"]
    services = tests["services"]
    assert {"postgres", "redis"} <= set(services)
    for service in services.values():
        assert "--health-cmd" in service["options"], "services are waited for"
    env = tests["env"]
    assert env["TEST_DATABASE_URL"].startswith("postgresql://")
    assert env["TEST_REDIS_URL"].startswith("redis://")
    run = commands(tests)
    assert "pytest" in run and "scripts/ci_system_deps.sh" in run


def test_referenced_scripts_exist() -> None:
    for path in WORKFLOWS:
        for script in re.findall(r"scripts/[\w./-]+\.(?:py|sh)", path.read_text()):
            assert (ROOT / script).exists(), f"{path.name}: {script} does not exist"


def test_chaos_suite_runs_whole_nightly() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "chaos.yml")
    assert workflow["on"]["schedule"], "nightly"
    job = workflow["jobs"]["chaos"]
    assert job["env"]["CHAOS"] == "all" and "-m chaos" in commands(job)
    assert {"postgres", "redis", "rabbitmq"} <= set(job["services"])
