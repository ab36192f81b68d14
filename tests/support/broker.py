"""Looking into the broker: how many messages wait in a queue."""

from __future__ import annotations

from kombu import Connection

from adapters.broker.declarations import kombu_queue


def queued(broker_url: str, base: str) -> int:
    queue = kombu_queue(base)
    with Connection(broker_url, connect_timeout=2) as conn:
        # A non-passive declare answers the count on both transports (an empty Redis
        # list does not exist as a key, so a passive declare would fail there).
        _, count, _ = queue(conn.default_channel).queue_declare()
        return int(count)


def purge(broker_url: str, base: str) -> None:
    with Connection(broker_url, connect_timeout=2) as conn:
        bound = kombu_queue(base)(conn.default_channel)
        bound.declare()
        bound.purge()
