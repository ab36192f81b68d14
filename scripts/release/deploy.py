"""Deploy a release: pull, migrate once, restart receiver, workers and beat one after the
other behind health gates, and go back to the previous release when a gate fails.

    scripts/deploy compose --host deploy@server --dir /srv/pipeline --image IMAGE [--ref vX.Y.Z]
    scripts/deploy kubernetes --image IMAGE [--overlay k8s/overlays/production]
    scripts/deploy local --state-dir DIR --release NAME     # stand-in target (tests)
    scripts/deploy local --state-dir DIR --stop

`--dry-run` prints every command instead of running it. Migrations are never rolled back:
each one keeps the previous release working (docs/deployment/migrations.md), which is what
makes going back to the previous image safe.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("receiver", "worker", "beat")
DEPLOYMENTS = ("pipeline-receiver", "pipeline-worker", "pipeline-beat")
COMPOSE_FILES = ("docker/compose.yaml", "docker/compose.prod.yaml")
IMAGE_NAME = "tg-webhook-pipeline"  # the name the kustomizations use


class DeployError(Exception):
    """The deploy did not complete; `rolled_back` tells whether the previous release runs."""

    def __init__(self, message: str, rolled_back: bool = False) -> None:
        super().__init__(message)
        self.rolled_back = rolled_back


class Shell:
    """Runs commands, or only prints them (`dry_run`). Every command is echoed."""

    def __init__(self, dry_run: bool = False, echo: Callable[[str], None] = print) -> None:
        self.dry_run, self.echo = dry_run, echo

    def run(self, args: Sequence[str], *, check: bool = True, timeout: float = 900) -> str:
        self.echo(f"+ {shlex.join(args)}")
        if self.dry_run:
            return ""
        done = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise DeployError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout if done.returncode == 0 else ""

    def ok(self, args: Sequence[str], timeout: float = 900) -> bool:
        """Whether the command succeeds (a dry run assumes it does)."""
        self.echo(f"+ {shlex.join(args)}")
        if self.dry_run:
            return True
        return subprocess.run(list(args), capture_output=True, timeout=timeout).returncode == 0


class Target(Protocol):
    """Where a release runs: one instance of each service, replaced one at a time."""

    def current(self) -> str | None: ...
    def pull(self, release: str) -> None: ...
    def migrate(self, release: str) -> None: ...
    def restart(self, service: str, release: str) -> None: ...
    def healthy(self, service: str, release: str) -> bool: ...
    def record(self, release: str) -> None: ...


def wait_healthy(check: Callable[[], bool], timeout: float, interval: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def rolling_deploy(
    target: Target,
    release: str,
    *,
    services: Sequence[str] = SERVICES,
    gate_timeout: float = 120.0,
    echo: Callable[[str], None] = print,
) -> None:
    """Pull, migrate, then each service in turn: restart on `release`, wait for its health
    gate. A failed gate restarts the services already moved on the previous release."""
    previous = target.current()
    echo(f"deploying {release} (previous: {previous or 'none'})")
    target.pull(release)
    target.migrate(release)
    moved: list[str] = []
    for service in services:
        target.restart(service, release)
        moved.append(service)
        if wait_healthy(lambda s=service: target.healthy(s, release), gate_timeout):  # type: ignore[misc]
            echo(f"{service}: healthy on {release}")
            continue
        echo(f"{service}: health gate failed on {release}")
        if previous is None:
            raise DeployError(f"{service} is unhealthy on {release}; no previous release")
        for back in reversed(moved):
            target.restart(back, previous)
            if not wait_healthy(lambda s=back: target.healthy(s, previous), gate_timeout):  # type: ignore[misc]
                raise DeployError(f"{back} is unhealthy on {previous} too: look now")
        echo(f"rolled back to {previous}")
        raise DeployError(f"{service} is unhealthy on {release}", rolled_back=True)
    target.record(release)
    echo(f"deployed {release}")


class ComposeTarget:
    """A server with a checkout of the repository and its .env, reached over SSH."""

    def __init__(self, shell: Shell, host: str, directory: str, ref: str | None = None) -> None:
        self.shell, self.host, self.directory, self.ref = shell, host, directory, ref

    def _ssh(self, command: str) -> list[str]:
        cd = f"cd {shlex.quote(self.directory)}"
        return ["ssh", "-o", "BatchMode=yes", self.host, f"{cd} && {command}"]

    def _remote(self, command: str, check: bool = True) -> str:
        return self.shell.run(self._ssh(command), check=check)

    def _compose(self, release: str, *args: str) -> str:
        files = " ".join(f"-f {f}" for f in COMPOSE_FILES)
        image = shlex.quote(release)
        return f"PIPELINE_IMAGE={image} docker compose {files} {shlex.join(args)}"

    def current(self) -> str | None:
        return self._remote("cat .deploy/image 2>/dev/null || true").strip() or None

    def pull(self, release: str) -> None:
        if self.ref:
            ref = shlex.quote(self.ref)
            self._remote(f"git fetch --tags --force origin && git checkout --detach {ref}")
        self._remote(self._compose(release, "pull", "migrate", *SERVICES))

    def migrate(self, release: str) -> None:
        self._remote(self._compose(release, "run", "--rm", "--no-deps", "migrate"))

    def restart(self, service: str, release: str) -> None:
        # --wait: returns once the container's own health check passes (or fails).
        command = self._compose(
            release, "up", "-d", "--no-deps", "--wait", "--wait-timeout", "120", service
        )
        self._remote(command, check=False)

    def healthy(self, service: str, release: str) -> bool:
        # Every container of the service (workers may be scaled) reports healthy.
        health = self._compose(release, "ps", "--format", "{{.Health}}", service)
        check = f'states="$({health})" && [ -n "$states" ] && ! echo "$states" | grep -vqx healthy'
        return self.shell.ok(self._ssh(check))

    def record(self, release: str) -> None:
        self._remote(f"mkdir -p .deploy && echo {shlex.quote(release)} > .deploy/image")


def kubernetes_deploy(
    shell: Shell,
    image: str,
    overlay: Path,
    namespace: str,
    timeout: str = "300s",
    echo: Callable[[str], None] = print,
) -> None:
    """`kubectl apply -k` of the overlay with `image`, migrations Job first, then every
    rollout; `rollout undo` of each Deployment when one does not become ready."""
    kubectl = ["kubectl", "-n", namespace]
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "k8s"
        shutil.copytree(overlay.parents[1], tree)
        staged = tree / overlay.relative_to(overlay.parents[1])
        kustomization = staged / "kustomization.yaml"
        config = yaml.safe_load(kustomization.read_text())
        name, _, tag = image.rpartition(":")
        config["images"] = [{"name": IMAGE_NAME, "newName": name, "newTag": tag}]
        kustomization.write_text(yaml.safe_dump(config, sort_keys=False))
        # A Job's template cannot change: the previous migrations Job goes first.
        shell.run([*kubectl, "delete", "job", "pipeline-migrate", "--ignore-not-found"])
        shell.run([*kubectl, "apply", "-k", str(staged)])
    job = "job/pipeline-migrate"
    if not shell.ok([*kubectl, "wait", "--for=condition=complete", job, f"--timeout={timeout}"]):
        raise DeployError("the migrations Job did not complete; the Deployments are unchanged")
    failed = [
        d
        for d in DEPLOYMENTS
        if not shell.ok([*kubectl, "rollout", "status", f"deployment/{d}", f"--timeout={timeout}"])
    ]
    if not failed:
        echo(f"deployed {image}")
        return
    echo(f"rollout failed for {', '.join(failed)}: undoing every Deployment")
    for deployment in DEPLOYMENTS:
        shell.run([*kubectl, "rollout", "undo", f"deployment/{deployment}"])
    for deployment in DEPLOYMENTS:
        shell.ok(
            [*kubectl, "rollout", "status", f"deployment/{deployment}", f"--timeout={timeout}"]
        )
    raise DeployError(f"rollout of {image} failed", rolled_back=True)


def main(argv: list[str] | None = None) -> int:
    from scripts.release.local_target import LocalTarget

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    parser.add_argument("--gate-timeout", type=float, default=120.0)
    targets = parser.add_subparsers(dest="target", required=True)
    compose = targets.add_parser("compose", help="a server with Docker Compose, over SSH")
    compose.add_argument("--host", required=True)
    compose.add_argument("--dir", required=True)
    compose.add_argument("--image", required=True)
    compose.add_argument("--ref", help="check this tag out on the server first")
    kube = targets.add_parser("kubernetes", help="kubectl apply -k of an overlay")
    kube.add_argument("--image", required=True)
    kube.add_argument("--overlay", type=Path, default=ROOT / "k8s/overlays/production")
    kube.add_argument("--namespace", default="pipeline")
    local = targets.add_parser("local", help="the project's processes on this machine")
    local.add_argument("--state-dir", type=Path, required=True)
    local.add_argument("--release", help="a release: <state-dir>/releases/<name>.env")
    local.add_argument("--stop", action="store_true", help="stop every local service")
    args = parser.parse_args(argv)
    shell = Shell(args.dry_run)
    try:
        if args.target == "compose":
            target = ComposeTarget(shell, args.host, args.dir, args.ref)
            rolling_deploy(target, args.image, gate_timeout=args.gate_timeout)
        elif args.target == "kubernetes":
            kubernetes_deploy(shell, args.image, args.overlay.resolve(), args.namespace)
        else:
            local_target = LocalTarget(args.state_dir, shell)
            if args.stop:
                local_target.stop_all()
                return 0
            if not args.release:
                parser.error("local: --release or --stop")
            rolling_deploy(local_target, args.release, gate_timeout=args.gate_timeout)
    except DeployError as exc:
        print(f"deploy failed: {exc}", file=sys.stderr)
        return 3 if exc.rolled_back else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
