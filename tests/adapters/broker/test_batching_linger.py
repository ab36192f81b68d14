"""The batching publisher holds a message back only while the workers are behind, and
only until no further webhook can join it (full, or every open connection waiting).

No wall-clock assertions: the tests yield to the event loop and look at what was
published, so a loaded machine cannot make them fail (a hold is made long enough that
no stall outlasts it, and a batch fills up to end it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sized

import pytest

from adapters.broker import batching
from adapters.broker.batching import BatchingPublisher
from tests.support.broker import QueueLengthSender

pytestmark = pytest.mark.asyncio

LONG_HOLD_S = 30.0
MANY = range(1_000)  # open connections: more than any test submits


async def settle() -> None:
    """Let every task that can run, run (no timers involved)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def learned(
    sender: QueueLengthSender, *, max_batch: int = 200, linger_max_s: float = 0.0
) -> BatchingPublisher:
    """A publisher that has published once, so it knows how many messages wait."""
    publisher = BatchingPublisher(sender, max_batch=max_batch, linger_max_s=linger_max_s)
    await publisher.submit({"n": -1}, 10, 5.0, connections=MANY)
    return publisher


async def published_at_once(
    publisher: BatchingPublisher, sender: QueueLengthSender, connections: Sized | None = MANY
) -> bool:
    before = len(sender.sizes)
    lone = asyncio.ensure_future(publisher.submit({"n": 0}, 10, 5.0, connections=connections))
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
    first = asyncio.ensure_future(publisher.submit({"n": 0}, 10, 60.0, connections=MANY))
    await settle()
    assert sender.sizes == [1]  # held for the ones behind
    rest = [
        asyncio.ensure_future(publisher.submit({"n": n}, 10, 60.0, connections=MANY))
        for n in range(1, 5)
    ]
    await asyncio.gather(first, *rest)  # the fifth fills the batch, which ends the hold
    assert sender.sizes == [1, 5]
    await publisher.close()


async def test_a_length_told_now_and_then_keeps_holding_in_between() -> None:
    # RabbitMQ's sender answers the length once in a while, None in between: the last
    # figure stands (until it is stale), so the hold does not lapse between two figures.
    sender = QueueLengthSender(already_waiting=100_000, tells_every=1_000)
    publisher = await learned(sender, max_batch=3, linger_max_s=LONG_HOLD_S)
    for round_ in range(3):
        first = asyncio.ensure_future(publisher.submit({"n": 0}, 10, 60.0, connections=MANY))
        await settle()
        assert sender.sizes == [1] + [3] * round_  # held, though told nothing since
        rest = [
            asyncio.ensure_future(publisher.submit({"n": n}, 10, 60.0, connections=MANY))
            for n in range(1, 3)
        ]
        await asyncio.gather(first, *rest)
    assert sender.sizes == [1, 3, 3, 3]
    await publisher.close()


async def test_the_hold_is_bounded_by_the_backlog() -> None:
    # 4 waiting messages hold the next one 4 x LINGER_PER_WAITING_S, not the maximum.
    sender = QueueLengthSender(already_waiting=4)
    publisher = await learned(sender, linger_max_s=LONG_HOLD_S)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await publisher.submit({"n": 0}, 10, 60.0, connections=MANY)
    assert loop.time() - started < LONG_HOLD_S / 2
    assert sender.sizes == [1, 1]
    await publisher.close()


async def test_without_a_linger_a_backlog_holds_nothing_back() -> None:
    sender = QueueLengthSender(already_waiting=100_000)
    publisher = await learned(sender)  # the default: no hold
    assert await published_at_once(publisher, sender)
    await publisher.close()


async def test_the_hold_ends_when_every_open_connection_is_waiting() -> None:
    # Three connections, each with its request in the message: nobody else can send, so
    # holding longer would only delay them (closed-loop senders waited the hold out).
    sender = QueueLengthSender(already_waiting=100_000)
    publisher = await learned(sender, linger_max_s=LONG_HOLD_S)
    first = asyncio.ensure_future(publisher.submit({"n": 0}, 10, 60.0, connections=range(3)))
    await settle()
    assert sender.sizes == [1]  # two more connections may still send
    rest = [
        asyncio.ensure_future(publisher.submit({"n": n}, 10, 60.0, connections=range(3)))
        for n in range(1, 3)
    ]
    await asyncio.wait_for(asyncio.gather(first, *rest), LONG_HOLD_S / 2)
    assert sender.sizes == [1, 3]
    await publisher.close()


async def test_a_connection_closing_during_the_hold_ends_it() -> None:
    sender = QueueLengthSender(already_waiting=100_000)
    publisher = await learned(sender, linger_max_s=LONG_HOLD_S)
    connections = ["a", "b", "c"]
    both = [
        asyncio.ensure_future(publisher.submit({"n": n}, 10, 60.0, connections=connections))
        for n in range(2)
    ]
    await settle()
    assert sender.sizes == [1]  # the third connection may still send
    connections.pop()  # it closes instead
    await asyncio.wait_for(asyncio.gather(*both), LONG_HOLD_S / 2)
    assert sender.sizes == [1, 2]
    await publisher.close()


async def test_without_the_servers_connection_count_nothing_is_held() -> None:
    sender = QueueLengthSender(already_waiting=100_000)
    publisher = await learned(sender, linger_max_s=LONG_HOLD_S)
    assert await published_at_once(publisher, sender, connections=None)
    await publisher.close()
