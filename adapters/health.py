"""The whole system's health: database, broker, workers, beat.

Not the receiver's readiness (that is the broker alone, see webhooks.health): the
receiver rides out a database outage, so an orchestrator must keep it in rotation then.
This report is for operators and monitors — `pipeline health` and
`GET /healthz/system` on the receiver's port (not exposed through the proxy).
Each check answers "ok" or a short reason of ours; exception texts go to the log only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg
from loguru import logger

from adapters.broker.publisher import BrokerPublisher
from pipeline.alerts.probes import last_beat, last_heartbeat, sync_client
from pipeline.settings import Settings
from schema.session import libpq_url

TIMEOUT_S = 2.0
# Workers and beat beat every 15 s (workers.monitoring); two missed beats is news.
HEARTBEAT_STALE_S = 45.0
OK = "ok"


@dataclass(frozen=True)
class SystemHealth:
    checks: dict[str, str]

    @property
    def healthy(self) -> bool:
        return all(value == OK for value in self.checks.values())

    def as_json(self) -> dict[str, object]:
        return {"status": "ok" if self.healthy else "degraded", "checks": self.checks}


def _database(settings: Settings) -> dict[str, str]:
    if not settings.database_url:
        return {"database": "not configured"}
    with psycopg.connect(libpq_url(settings.database_url), connect_timeout=int(TIMEOUT_S)) as c:
        c.execute("SELECT 1")
    return {"database": OK}


def _broker(settings: Settings) -> dict[str, str]:
    if not settings.broker_url:
        return {"broker": "not configured"}
    publisher = BrokerPublisher(settings.broker_url, timeout=TIMEOUT_S)
    try:
        publisher.ping()
    finally:
        publisher.close()
    return {"broker": OK}


def _age(stamp: float | None, what: str, now: float) -> str:
    if stamp is None:
        return f"no {what} heartbeat"
    age = now - stamp
    return OK if age <= HEARTBEAT_STALE_S else f"last {what} heartbeat {age:.0f} s ago"


def _heartbeats(settings: Settings) -> dict[str, str]:
    client = sync_client(settings)
    if client is None:
        return {"workers": "unknown: no Redis", "beat": "unknown: no Redis"}
    try:
        now = time.time()
        return {
            "workers": _age(last_heartbeat(client), "worker", now),
            "beat": _age(last_beat(client), "beat", now),
        }
    finally:
        client.close()


PROBES: dict[tuple[str, ...], Callable[[Settings], dict[str, str]]] = {
    ("database",): _database,
    ("broker",): _broker,
    ("workers", "beat"): _heartbeats,
}


def _run(
    names: tuple[str, ...], probe: Callable[[Settings], dict[str, str]], s: Settings
) -> dict[str, str]:
    try:
        return probe(s)
    except Exception as exc:
        logger.warning("health check {} failed: {}: {}", "/".join(names), type(exc).__name__, exc)
        return dict.fromkeys(names, "unreachable")


def system_health(settings: Settings) -> SystemHealth:
    """Every check at once, each bounded by its client timeouts (about 2 s)."""
    checks: dict[str, str] = {}
    with ThreadPoolExecutor(len(PROBES), thread_name_prefix="health") as pool:
        futures = [pool.submit(_run, names, probe, settings) for names, probe in PROBES.items()]
        for future in futures:
            checks.update(future.result())
    return SystemHealth(checks)
