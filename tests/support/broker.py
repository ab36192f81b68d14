"""Looking into the broker: how many messages wait in a queue, and which tasks."""

from __future__ import annotations

import json
from typing import Any

from kombu import Connection

from adapters.broker.celery_message import TaskMessage
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


def take_tasks(broker_url: str, base: str) -> list[tuple[str, list[Any]]]:
    """Take every message off the queue, as a worker receives it: its task name and
    arguments (Celery's protocol 2 body, JSON; no keyword arguments expected)."""
    found = []
    with Connection(broker_url, connect_timeout=2) as conn:
        queue = conn.SimpleQueue(kombu_queue(base))
        try:
            while True:
                try:
                    message = queue.get(timeout=0.5)
                except queue.Empty:
                    break
                assert message.content_type == "application/json"
                args, kwargs, _embed = message.decode()
                assert kwargs == {}
                found.append((str(message.headers["task"]), list(args)))
                message.ack()
        finally:
            queue.close()
    return found


class QueueLengthSender:
    """A sender whose queue nobody drains: it answers the length, like Redis' LPUSH."""

    def __init__(self, already_waiting: int, tells_every: int = 1) -> None:
        self.length = already_waiting
        self.sizes: list[int] = []
        self.tells_every = tells_every  # RabbitMQ's sender tells it now and then

    async def publish(self, message: TaskMessage) -> int | None:
        self.length += 1
        self.sizes.append(len(json.loads(message.body)[0][0]))  # Celery's [args, ...]
        return self.length if (len(self.sizes) - 1) % self.tells_every == 0 else None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
