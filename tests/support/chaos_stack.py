"""The real processes of one pipeline — receiver, workers, beat — for a chaos scenario to
start, kill and restart. Closing the stack stops everything it ever started, even when the
scenario failed half-way.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from types import TracebackType

from tests.support.chaos import kill_group
from tests.support.processes import (
    free_port,
    pipeline_env,
    spawn,
    spawn_worker,
    stop,
    wait_receiver,
    wait_worker,
)
from tests.support.signing import STRIPE_SECRET


def stack_env(database_url: str, broker: str, redis: str, data_dir: Path) -> dict[str, str]:
    """One pipeline's settings, with queue names of its own (QUEUE_PREFIX)."""
    return pipeline_env(
        DATABASE_URL=database_url,
        BROKER_URL=broker,
        REDIS_URL=redis,
        QUEUE_PREFIX=f"c{uuid.uuid4().hex[:8]}-",
        STRIPE_WEBHOOK_SECRET=STRIPE_SECRET,
        LOG_LEVEL="INFO",
        DATA_DIR=str(data_dir),
        WORKER_METRICS_PORT="0",
    )


class Stack:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.receiver: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.started: list[subprocess.Popen[bytes]] = []
        self._receivers = 0
        self._receiver_log = logs / "receiver.log"

    def __enter__(self) -> Stack:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for process in reversed(self.started):
            stop(process, timeout=30)

    def start(
        self, workers: int = 1, beat: bool = False, receiver_env: dict[str, str] | None = None
    ) -> str:
        """A receiver, `workers` workers and maybe beat, started side by side (a loaded
        machine takes seconds for each), answering and consuming when this returns."""
        receiver = self._spawn_receiver(receiver_env)
        spawned = [self._spawn_worker(2) for _ in range(workers)]
        if beat:
            self.start_beat()
        wait_receiver(receiver, self.base, self._receiver_log)
        for process, log in spawned:
            wait_worker(process, log)
        return self.base

    def start_receiver(self, env: dict[str, str] | None = None) -> str:
        """A receiver, always on the same port (a restart is what a sender would see)."""
        wait_receiver(self._spawn_receiver(env), self.base, self._receiver_log)
        return self.base

    def _spawn_receiver(self, env: dict[str, str] | None) -> subprocess.Popen[bytes]:
        self._receivers += 1
        self._receiver_log = self.logs / f"receiver-{self._receivers}.log"
        args = ["receiver", "--port", str(self.port)]
        self.receiver = spawn(args, env or self.env, self._receiver_log)
        self.started.append(self.receiver)
        return self.receiver

    def kill_receiver(self) -> None:
        assert self.receiver is not None
        kill_group(self.receiver)

    def start_worker(self, concurrency: int = 2) -> subprocess.Popen[bytes]:
        """A worker with a name of its own (RabbitMQ: exclusive control queues)."""
        process, log = self._spawn_worker(concurrency)
        wait_worker(process, log)
        return process

    def _spawn_worker(self, concurrency: int) -> tuple[subprocess.Popen[bytes], Path]:
        n = len(self.workers) + 1
        hostname = f"{self.env['QUEUE_PREFIX']}w{n}@%h"
        log = self.logs / f"worker-{n}.log"
        process = spawn_worker(self.env, log, concurrency, hostname)
        self.workers.append(process)
        self.started.append(process)
        return process, log

    def start_beat(self) -> None:
        self.started.append(spawn(["beat"], self.env, self.logs / "beat.log"))

    @staticmethod
    def wait_exit(process: subprocess.Popen[bytes], timeout: float = 60) -> int:
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the process did not stop within {timeout:.0f} s") from None


def children(pid: int) -> list[int]:
    listed = Path(f"/proc/{pid}/task/{pid}/children")
    if listed.exists():
        return [int(child) for child in listed.read_text().split()]
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def descendants(process: subprocess.Popen[bytes]) -> list[int]:
    """Every process under a worker's command: Celery's main process and its pool."""
    found, todo = [], [process.pid]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found
