"""scripts/deploy: the order of a rolling deploy, its health gates and its rollback, in a
dry run of the Compose and Kubernetes targets, with a stand-in kubectl whose rollout
fails, and against the project's own processes (the local target)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scripts.release.deploy import DeployError, Shell, kubernetes_deploy, rolling_deploy
from tests.support.processes import free_port, pipeline_env
from tests.support.services import TestServices

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "scripts" / "deploy"


class FakeTarget:
    """Records what the deploy did; `bad` services never pass their gate on `bad_release`."""

    def __init__(self, previous: str | None, bad: set[str], bad_release: str = "v2") -> None:
        self.running: dict[str, str] = {}
        self.previous, self.bad, self.bad_release = previous, bad, bad_release
        self.log: list[str] = []

    def current(self) -> str | None:
        return self.previous

    def pull(self, release: str) -> None:
        self.log.append(f"pull {release}")

    def migrate(self, release: str) -> None:
        self.log.append(f"migrate {release}")

    def restart(self, service: str, release: str) -> None:
        self.running[service] = release
        self.log.append(f"restart {service} {release}")

    def healthy(self, service: str, release: str) -> bool:
        return not (service in self.bad and release == self.bad_release)

    def record(self, release: str) -> None:
        self.log.append(f"record {release}")


def test_rolling_order_pull_migrate_then_one_service_at_a_time() -> None:
    target = FakeTarget("v1", bad=set())
    rolling_deploy(target, "v2", gate_timeout=0, echo=lambda _: None)
    assert target.log == [
        "pull v2", "migrate v2", "restart receiver v2", "restart worker v2",
        "restart beat v2", "record v2",
    ]  # fmt: skip


def test_failed_gate_puts_the_moved_services_back_on_the_previous_release() -> None:
    target = FakeTarget("v1", bad={"worker"})
    with pytest.raises(DeployError) as failed:
        rolling_deploy(target, "v2", gate_timeout=0, echo=lambda _: None)
    assert failed.value.rolled_back
    assert target.running == {"receiver": "v1", "worker": "v1"}  # beat was never touched
    assert "record v2" not in target.log and target.log[-1] == "restart receiver v1"


def test_first_deploy_has_nothing_to_roll_back_to() -> None:
    with pytest.raises(DeployError) as failed:
        rolling_deploy(FakeTarget(None, {"receiver"}), "v2", gate_timeout=0, echo=print)
    assert not failed.value.rolled_back


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DEPLOY), *args], capture_output=True, text=True, timeout=300, env=env, cwd=ROOT
    )


def test_compose_dry_run_prints_every_command() -> None:
    done = _run(
        "--dry-run", "compose", "--host", "deploy@203.0.113.10", "--dir", "/srv/pipeline",
        "--image", "ghcr.io/acme/pipeline:1.2.3", "--ref", "v1.2.3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    commands = [line for line in done.stdout.splitlines() if line.startswith("+ ssh")]
    assert all("BatchMode=yes deploy@203.0.113.10" in c for c in commands)
    steps = [
        "git checkout --detach v1.2.3",
        "pull migrate receiver worker beat",
        "run --rm --no-deps migrate",
        "up -d --no-deps --wait --wait-timeout 120 receiver",
        "up -d --no-deps --wait --wait-timeout 120 worker",
        "up -d --no-deps --wait --wait-timeout 120 beat",
        "echo ghcr.io/acme/pipeline:1.2.3 > .deploy/image",
    ]
    found = [next(i for i, c in enumerate(commands) if step in c) for step in steps]
    assert found == sorted(found), "steps out of order"
    assert all(
        "PIPELINE_IMAGE=ghcr.io/acme/pipeline:1.2.3" in c for c in commands if "compose" in c
    )


@pytest.fixture
def fake_kubectl(tmp_path: Path) -> Iterator[Path]:
    """A kubectl that logs its arguments and fails the worker's rollout."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "kubectl.log"
    script = bin_dir / "kubectl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        'case "$*" in *"rollout status deployment/pipeline-worker"*) '
        '[ -e "$0.undone" ] && exit 0; exit 1;; *"rollout undo"*) touch "$0.undone";; esac\n'
    )
    script.chmod(0o755)
    yield log


def test_kubernetes_rollout_failure_undoes_every_deployment(
    fake_kubectl: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{fake_kubectl.parent / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(DeployError) as failed:
        kubernetes_deploy(
            Shell(echo=lambda _: None),
            "ghcr.io/acme/pipeline:1.2.3",
            ROOT / "k8s/overlays/production",
            "pipeline",
            echo=lambda _: None,
        )
    assert failed.value.rolled_back
    calls = fake_kubectl.read_text().splitlines()
    assert calls[0] == "-n pipeline delete job pipeline-migrate --ignore-not-found"
    assert calls[1].startswith("-n pipeline apply -k ")
    assert "wait --for=condition=complete job/pipeline-migrate" in calls[2]
    undone = [c.split("/")[-1] for c in calls if "rollout undo" in c]
    assert undone == ["pipeline-receiver", "pipeline-worker", "pipeline-beat"]


def test_kubernetes_dry_run_applies_the_overlay_with_the_image(tmp_path: Path) -> None:
    done = _run("--dry-run", "kubernetes", "--image", "ghcr.io/acme/pipeline:1.2.3")
    assert done.returncode == 0, done.stderr
    assert "+ kubectl -n pipeline apply -k " in done.stdout
    assert done.stdout.count("rollout status deployment/") == 3


@pytest.fixture
def local_env(
    services: TestServices, database_url: str, tmp_path: Path
) -> Iterator[dict[str, str]]:
    env = pipeline_env(
        DATABASE_URL=database_url,
        BROKER_URL=services.redis_url,
        REDIS_URL=services.redis_url,
        QUEUE_PREFIX=f"d{uuid.uuid4().hex[:8]}-",
        DEPLOY_RECEIVER_PORT=str(free_port()),
        WORKER_METRICS_PORT=str(free_port()),
        DATA_DIR=str(tmp_path / "data"),
        PYTHON=str(ROOT / ".venv/bin/python"),
    )
    state = tmp_path / "state"
    (state / "releases").mkdir(parents=True)
    (state / "releases" / "v1.env").write_text("LOG_LEVEL=INFO\n")
    # A bad image: its receiver does not start (a provider setting it cannot read).
    (state / "releases" / "v2.env").write_text("YOOKASSA_ALLOWED_NETWORKS=not-a-network\n")
    # Worse: not even its migrations run.
    (state / "releases" / "v3.env").write_text("MAX_BODY_BYTES=1\n")
    env["STATE"] = str(state)
    yield env
    _run("local", "--state-dir", str(state), "--stop", env=env)


@pytest.mark.process
def test_local_target_rolls_back_when_the_health_gate_fails(local_env: dict[str, str]) -> None:
    state = Path(local_env["STATE"])
    local = ["--gate-timeout", "30", "local", "--state-dir", str(state)]
    first = _run(*local, "--release", "v1", env=local_env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (state / "current").read_text() == "v1"
    healthz = f"http://127.0.0.1:{local_env['DEPLOY_RECEIVER_PORT']}/healthz"
    assert httpx.get(healthz, timeout=5).status_code == 200

    second = _run(*local, "--release", "v2", env=local_env)
    assert second.returncode == 3, second.stdout + second.stderr  # 3: rolled back
    assert "receiver: health gate failed on v2" in second.stdout
    assert "rolled back to v1" in second.stdout
    assert (state / "current").read_text() == "v1"
    assert httpx.get(healthz, timeout=5).json()["status"] == "ok"
    assert "worker" not in second.stdout.split("rolled back")[0].split("gate failed")[1]

    third = _run(*local, "--release", "v3", env=local_env)
    assert third.returncode == 1 and "migrations failed on v3" in third.stderr
    assert "+ stop" not in third.stdout  # nothing was restarted
    assert httpx.get(healthz, timeout=5).status_code == 200


def test_compose_rollback_over_a_stand_in_ssh(tmp_path: Path) -> None:
    """An `ssh` that runs nothing remotely: it logs each command, knows the previous image
    and reports the worker on the new image unhealthy."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "ssh.log"
    (bin_dir / "ssh").write_text(
        "#!/bin/sh\n"
        'eval "last=\\${$#}"\n'
        f'printf "%s\\n" "$last" >> {log}\n'
        'case "$last" in\n'
        '  *"cat .deploy/image"*) echo ghcr.io/acme/pipeline:1.2.2 ;;\n'
        '  *"PIPELINE_IMAGE=ghcr.io/acme/pipeline:1.2.3"*"ps --format"*worker*) exit 1 ;;\n'
        "esac\n"
    )
    (bin_dir / "ssh").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    done = _run(
        "--gate-timeout", "0", "compose", "--host", "deploy@203.0.113.10", "--dir", "/srv/p",
        "--image", "ghcr.io/acme/pipeline:1.2.3", env=env,
    )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    ups = [line for line in log.read_text().splitlines() if " up -d " in line]
    moved = [(u.split("PIPELINE_IMAGE=")[1].split()[0], u.split()[-1]) for u in ups]
    assert moved == [
        ("ghcr.io/acme/pipeline:1.2.3", "receiver"),
        ("ghcr.io/acme/pipeline:1.2.3", "worker"),
        ("ghcr.io/acme/pipeline:1.2.2", "worker"),
        ("ghcr.io/acme/pipeline:1.2.2", "receiver"),
    ]
    assert ".deploy/image" not in log.read_text().splitlines()[-1]  # 1.2.3 never recorded
    assert "rolled back to ghcr.io/acme/pipeline:1.2.2" in done.stdout
