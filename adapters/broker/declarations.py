"""The kombu declaration of every queue, the same in every process that sends or consumes."""

from __future__ import annotations

from functools import lru_cache

from kombu import Exchange, Queue

from pipeline.messaging.queues import ALL_QUEUES, queue_name


def kombu_queue(base: str) -> Queue:
    """The declaration every process agrees on: a durable direct exchange per queue."""
    return _declaration(queue_name(base))


@lru_cache(maxsize=64)
def _declaration(name: str) -> Queue:
    return Queue(name, Exchange(name, type="direct", durable=True), routing_key=name, durable=True)


def kombu_queues() -> list[Queue]:
    return [kombu_queue(base) for base in ALL_QUEUES]
