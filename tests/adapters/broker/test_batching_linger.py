"""Asked to, the batching publisher holds a message back only while the workers are behind.

No wall-clock assertions: the tests yield to the event loop and look at what was
published, so a loaded machine cannot make them fail (a hold is made long enough that
no stall outlasts it, and a batch fills up to end it).
"""

from __future__ import annotations

import asyncio
import json

import pytest

from adapters.broker import batching
from adapters.broker.batching import BatchingPublisher
from adapters.broker.celery_message import TaskMessage

pytestmark = pytest.mark.asyncio

LONG_HOLD_S = 30.0


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


async def settle() -> None:
    """Let every task that can run, run (no timers involved)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def learned(
    sender: QueueLengthSender, *, max_batch: int = 200, linger_max_s: float = 0.0
) -> BatchingPublisher:
    """A publisher that has published once, so it knows how many messages wait."""
    publisher = BatchingPublisher(sender, max_batch=max_batch, linger_max_s=linger_max_s)
    await publisher.submit({"n": -1}, 10, 5.0)
    return publisher


async def published_at_once(publisher: BatchingPublisher, sender: QueueLengthSender) -> bool:
    before = len(sender.sizes)
    lone = asyncio.ensure_future(publisher.submit({"n": 0}, 10, 5.0))
    await settle()
    sent = len(sender.sizes) > before
    await lone
    return sent


@pytest.fixture(autouse=True)
def fresh_queue_length(monkeypatch: pytest.MonkeyPatch) -> None:
    # A queue length is trusted for half a second; a stalled test machine must not
    # make it stale between the learning publish and the next one.
    monkeypatch.setattr(batching, "WAITING_STALE_S", 3600.0)


async def test_an_empty_queue_gets_every_webhook_at_once() -> None:
    sender = QueueLengthSender(already_waiting=0)
    publisher = await learned(sender, linger_max_s=LONG_HOLD_S)
    for _ in range(3):
        sender.length = 0  # the workers keep up
        assert await published_at_once(publisher, sender)
    await publisher.close()


async def test_a_backlog_packs_the_next_webhooks_into_one_message() -> None:
    sender = QueueLengthSender(already_waiting=100_000)
    publisher = await learned(sender, max_batch=5, linger_max_s=LONG_HOLD_S)
    first = asyncio.ensure_future(publisher.submit({"n": 0}, 10, 60.0))
    await settle()
    assert sender.sizes == [1]  # held for the ones behind
    rest = [asyncio.ensure_future(publisher.submit({"n": n}, 10, 60.0)) for n in range(1, 5)]
    await asyncio.gather(first, *rest)  # the fifth fills the batch, which ends the hold
    assert sender.sizes == [1, 5]
    await publisher.close()


async def test_the_hold_is_bounded_by_the_backlog() -> None:
    # 4 waiting messages hold the next one 4 x LINGER_PER_WAITING_S, not the maximum.
    sender = QueueLengthSender(already_waiting=4)
    publisher = await learned(sender, linger_max_s=LONG_HOLD_S)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await publisher.submit({"n": 0}, 10, 60.0)
    assert loop.time() - started < LONG_HOLD_S / 2
    assert sender.sizes == [1, 1]
    await publisher.close()


async def test_without_a_linger_a_backlog_holds_nothing_back() -> None:
    sender = QueueLengthSender(already_waiting=100_000)
    publisher = await learned(sender)  # the default: no hold
    assert await published_at_once(publisher, sender)
    await publisher.close()
