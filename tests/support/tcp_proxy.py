"""A TCP proxy that can take a broker "down" or make it hang, for failure tests."""

from __future__ import annotations

import contextlib
import socket
import threading
from urllib.parse import urlparse, urlunparse

FORWARD, DOWN, BLACKHOLE = "forward", "down", "blackhole"


class TcpProxy:
    def __init__(self, upstream: tuple[str, int] | str) -> None:
        self.upstream = upstream
        self.mode = FORWARD
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _connect_upstream(self) -> socket.socket:
        if isinstance(self.upstream, str):
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(self.upstream)
            return sock
        return socket.create_connection(self.upstream, timeout=5)

    def _track(self, *socks: socket.socket) -> None:
        with self._lock:
            self._open.extend(socks)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.mode == DOWN:
                client.close()
                continue
            if self.mode == BLACKHOLE:
                self._track(client)  # accepted, never answered
                continue
            try:
                upstream = self._connect_upstream()
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self._track(client, upstream)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def set_mode(self, mode: str) -> None:
        """Switching away from forwarding cuts every open connection."""
        self.mode = mode
        if mode != FORWARD:
            self.drop_connections()

    def drop_connections(self) -> None:
        with self._lock:
            socks, self._open = self._open, []
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.drop_connections()


def proxied_url(broker_url: str) -> tuple[TcpProxy, str]:
    """A proxy in front of the broker, and the broker URL that goes through it."""
    parsed = urlparse(broker_url)
    if parsed.scheme == "redis+socket":
        proxy = TcpProxy(parsed.path)
        return proxy, f"redis://127.0.0.1:{proxy.port}/0"
    proxy = TcpProxy((parsed.hostname or "127.0.0.1", parsed.port or 6379))
    netloc = parsed.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    new_netloc = f"{netloc[0]}@{host}" if len(netloc) == 2 else host
    return proxy, urlunparse(parsed._replace(netloc=new_netloc))
