"""Running the real receiver and worker as processes for whole-process tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def pipeline_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_module(module: str, args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    """`python -m module args` to its end; its output, or an AssertionError with it."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "cli", *args],
        env=env,
        cwd=ROOT,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_receiver(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(log.read_text()[-3000:])
        try:
            return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, 60, "the receiver to start")


def start_receiver(
    env: dict[str, str], log: Path, port: int
) -> tuple[subprocess.Popen[bytes], str]:
    """A receiver on `port`, answering; the caller stops it."""
    process = spawn(["receiver", "--port", str(port)], env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_receiver(process, base, log)
    except BaseException:
        stop(process)
        raise
    return process, base


@contextmanager
def receiver(env: dict[str, str], log_dir: Path, port: int | None = None) -> Iterator[str]:
    process, base = start_receiver(env, log_dir / "receiver.log", port or free_port())
    try:
        yield base
    finally:
        stop(process)


def spawn_worker(
    env: dict[str, str], log: Path, concurrency: int = 2, hostname: str = ""
) -> subprocess.Popen[bytes]:
    args = ["worker", f"--concurrency={concurrency}"]
    return spawn([*args, f"--hostname={hostname}"] if hostname else args, env, log)


def wait_worker(process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the worker consumes (its log says " ready.")."""

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(log.read_text()[-3000:])
        return log.exists() and " ready." in log.read_text(errors="replace")

    wait_until(ready, 60, "the worker to start")


def start_worker(
    env: dict[str, str], log: Path, concurrency: int = 2, hostname: str = ""
) -> subprocess.Popen[bytes]:
    """A worker, consuming; the caller stops it."""
    process = spawn_worker(env, log, concurrency, hostname)
    try:
        wait_worker(process, log)
    except BaseException:
        stop(process)
        raise
    return process


@contextmanager
def worker(
    env: dict[str, str],
    log_dir: Path,
    concurrency: int = 2,
    name: str = "worker",
    hostname: str = "",
) -> Iterator[subprocess.Popen[bytes]]:
    process = start_worker(env, log_dir / f"{name}.log", concurrency, hostname)
    try:
        yield process
    finally:
        stop(process, timeout=30)
