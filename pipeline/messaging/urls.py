"""Broker URLs as the clients read them (pure string work, no broker client)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse


def is_amqp(url: str) -> bool:
    return url.split("://", 1)[0] in {"amqp", "amqps", "pyamqp"}


def redis_py_url(broker_url: str) -> str:
    """kombu broker URL -> redis-py URL (`redis+socket://` becomes `unix://`)."""
    parsed = urlparse(broker_url)
    if parsed.scheme == "redis+socket":
        db = parse_qs(parsed.query).get("virtual_host", ["0"])[0] or "0"
        return f"unix://{parsed.path}?db={db}"
    if parsed.scheme not in {"redis", "rediss"}:
        raise ValueError(f"not a Redis broker URL: {parsed.scheme}://")
    return broker_url
