"""Asked to, the batching publisher holds a message back only while the workers are behind."""

from __future__ import annotations

import asyncio
import json
import time

from adapters.broker.batching import LINGER_MAX_S, BatchingPublisher
from adapters.broker.celery_message import TaskMessage


class QueueLengthSender:
    """A sender whose queue nobody drains: it answers the length, like Redis' LPUSH."""

    def __init__(self, already_waiting: int) -> None:
        self.length = already_waiting
        self.sizes: list[int] = []

    async def publish(self, message: TaskMessage) -> int | None:
        self.length += 1
        self.sizes.append(len(json.loads(message.body)[0][0]))  # Celery's [args, ...]
        return self.length

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


async def lone_publish_s(publisher: BatchingPublisher, n: int) -> float:
    started = time.perf_counter()
    await publisher.submit({"n": n}, 10, 5.0)
    return time.perf_counter() - started


def test_an_empty_queue_gets_every_webhook_at_once() -> None:
    async def run() -> list[float]:
        sender = QueueLengthSender(already_waiting=0)
        publisher = BatchingPublisher(sender, linger_max_s=LINGER_MAX_S)
        await publisher.submit({"n": -1}, 10, 5.0)  # the first message builds Celery's app
        sender.length = 0
        took = []
        for n in range(3):
            took.append(await lone_publish_s(publisher, n))
            sender.length = 0  # the workers keep up
        await publisher.close()
        return took

    assert all(t < LINGER_MAX_S / 2 for t in asyncio.run(run()))


def test_a_backlog_packs_the_next_webhooks_into_one_message() -> None:
    async def spaced(publisher: BatchingPublisher, n: int) -> None:
        await asyncio.sleep(n * 0.004)  # arriving one by one, 4 ms apart
        await publisher.submit({"n": n}, 10, 5.0)

    async def run(already_waiting: int) -> list[int]:
        sender = QueueLengthSender(already_waiting)
        publisher = BatchingPublisher(sender, max_batch=200, linger_max_s=LINGER_MAX_S)
        await publisher.submit({"n": -1}, 10, 5.0)  # learns how many messages wait
        await asyncio.gather(*(spaced(publisher, n) for n in range(5)))
        await publisher.close()
        return sender.sizes[1:]

    assert asyncio.run(run(already_waiting=20)) == [5]  # held for the ones behind
    assert len(asyncio.run(run(already_waiting=0))) >= 3  # nobody waits: sent as they come


def test_without_a_linger_a_backlog_holds_nothing_back() -> None:
    async def spaced(publisher: BatchingPublisher, n: int) -> None:
        await asyncio.sleep(n * 0.004)
        await publisher.submit({"n": n}, 10, 5.0)

    async def run() -> list[int]:
        sender = QueueLengthSender(already_waiting=20)
        publisher = BatchingPublisher(sender, max_batch=200)  # the default: no hold
        await publisher.submit({"n": -1}, 10, 5.0)
        await asyncio.gather(*(spaced(publisher, n) for n in range(5)))
        await publisher.close()
        return sender.sizes[1:]

    assert len(asyncio.run(run())) >= 3
