"""A stand-in deploy target: the project's own receiver, worker and beat run directly on
this machine, so the deploy logic (health gates, rollback) runs against real processes.

A release is `<state-dir>/releases/<name>.env`: the settings its processes run with, on
top of the caller's environment (a release whose settings are invalid is a bad image).
Ports: DEPLOY_RECEIVER_PORT (8000) and WORKER_METRICS_PORT (9808) of that environment.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from scripts.release.deploy import ROOT, SERVICES, DeployError, Shell

BEAT_SETTLE_S = 3.0


class LocalTarget:
    def __init__(self, state_dir: Path, shell: Shell) -> None:
        self.state, self.shell = state_dir, shell
        for sub in ("releases", "run", "logs"):
            (state_dir / sub).mkdir(parents=True, exist_ok=True)

    def _release_env(self, release: str) -> dict[str, str]:
        path = self.state / "releases" / f"{release}.env"
        if not path.exists():
            raise DeployError(f"no release {release!r} ({path})")
        env = dict(os.environ)
        for line in path.read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                env[key.strip()] = value.strip()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        return env

    def _pidfile(self, service: str) -> Path:
        return self.state / "run" / f"{service}.pid"

    def _pid(self, service: str) -> int | None:
        try:
            pid = int(self._pidfile(service).read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def _command(self, service: str, env: dict[str, str]) -> list[str]:
        args = [sys.executable, "-m", "cli", service]
        if service == "receiver":
            args += ["--port", env.get("DEPLOY_RECEIVER_PORT", "8000")]
        elif service == "worker":
            args += ["--concurrency=1"]
        return args

    def stop(self, service: str) -> None:
        pid = self._pid(service)
        self.shell.echo(f"+ stop {service} (pid {pid})")
        if pid is None or self.shell.dry_run:
            return
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while self._pid(service) is not None and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):  # our own child: reap it
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.2)
        if self._pid(service) is not None:
            os.killpg(pid, signal.SIGKILL)
        self._pidfile(service).unlink(missing_ok=True)

    def stop_all(self) -> None:
        for service in reversed(SERVICES):
            self.stop(service)

    # Target
    def current(self) -> str | None:
        path = self.state / "current"
        return path.read_text().strip() if path.exists() else None

    def pull(self, release: str) -> None:
        self._release_env(release)  # the release exists and reads

    def migrate(self, release: str) -> None:
        env = self._release_env(release)
        command = [sys.executable, "-m", "cli", "migrate"]
        self.shell.echo(f"+ {' '.join(command)}")
        if self.shell.dry_run:
            return
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise DeployError(f"migrations failed on {release}: {done.stderr[-2000:]}")

    def restart(self, service: str, release: str) -> None:
        self.stop(service)
        env = self._release_env(release)
        command = self._command(service, env)
        self.shell.echo(f"+ {' '.join(command)}  # {release}")
        if self.shell.dry_run:
            return
        log = (self.state / "logs" / f"{service}.log").open("ab")
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self._pidfile(service).write_text(str(process.pid))
        (self.state / "run" / f"{service}.started").write_text(str(time.time()))

    def healthy(self, service: str, release: str) -> bool:
        if self.shell.dry_run:
            return True
        if self._pid(service) is None:
            return False
        env = self._release_env(release)
        if service == "beat":
            started = float((self.state / "run" / "beat.started").read_text())
            return time.time() - started >= BEAT_SETTLE_S
        if service == "receiver":
            url = f"http://127.0.0.1:{env.get('DEPLOY_RECEIVER_PORT', '8000')}/healthz"
        else:
            url = f"http://127.0.0.1:{env.get('WORKER_METRICS_PORT', '9808')}/metrics"
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def record(self, release: str) -> None:
        (self.state / "current").write_text(release)
