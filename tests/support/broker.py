"""Looking into the broker: how many messages wait in a queue."""

from __future__ import annotations

from kombu import Connection

from pipeline.messaging.queues import kombu_queue


def queued(broker_url: str, base: str) -> int:
    queue = kombu_queue(base)
    with Connection(broker_url, connect_timeout=2) as conn:
        channel = conn.default_channel
        bound = queue(channel)
        bound.declare()
        _, count, _ = bound.queue_declare(passive=True)
        return int(count)


def purge(broker_url: str, base: str) -> None:
    with Connection(broker_url, connect_timeout=2) as conn:
        bound = kombu_queue(base)(conn.default_channel)
        bound.declare()
        bound.purge()
