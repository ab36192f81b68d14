"""The receiver's RabbitMQ sender: what it publishes is what a worker's kombu consumer
reads, a broker that does not answer fails the publish within its timeout, and a lost
connection is replaced on the next publish."""

from __future__ import annotations

import asyncio
import time

import pytest

from adapters.broker import amqp_sender
from adapters.broker.amqp_sender import AmqpSender, aiormq_url
from adapters.broker.celery_message import task_message
from pipeline.messaging.queues import INGEST, TASK_INGEST
from tests.support.broker import purge, take_tasks
from tests.support.server import free_port

pytestmark = pytest.mark.asyncio


@pytest.fixture
def amqp_url(amqp_url: str) -> str:
    """The shared one, its ingest queue emptied first."""
    purge(amqp_url, INGEST)
    return amqp_url


@pytest.mark.parametrize(
    ("kombu", "aiormq"),
    [
        ("amqp://guest:guest@127.0.0.1:5672//", "amqp://guest:guest@127.0.0.1:5672/%2F"),
        ("pyamqp://u:p@mq:5672/shop", "amqp://u:p@mq:5672/shop"),
        ("amqps://u:p@mq:5671//", "amqps://u:p@mq:5671/%2F"),
    ],
)
async def test_kombus_spellings_read_as_aiormq_reads_them(kombu: str, aiormq: str) -> None:
    assert aiormq_url(kombu) == aiormq


async def test_a_published_batch_is_what_the_worker_reads(amqp_url: str) -> None:
    sender = AmqpSender(amqp_url, timeout=5.0)
    try:
        for n in range(3):
            batch = [[{"n": n, "provider": "stripe"}]]
            await sender.publish(task_message(TASK_INGEST, INGEST, batch))
    finally:
        await sender.close()
    tasks = await asyncio.to_thread(take_tasks, amqp_url, INGEST)
    assert tasks == [(TASK_INGEST, [[{"n": n, "provider": "stripe"}]]) for n in range(3)]


@pytest.mark.parametrize(
    ("every_s", "told"),
    [
        (0.0, [1, 2, 3]),  # after every confirm: nobody consumes, so ours are all ready
        (3600.0, [1, None, None]),  # once per interval: the first publish asks
    ],
)
async def test_the_queues_length_is_told_after_the_confirm(
    amqp_url: str, monkeypatch: pytest.MonkeyPatch, every_s: float, told: list[int | None]
) -> None:
    monkeypatch.setattr(amqp_sender, "COUNT_EVERY_S", every_s)
    sender = AmqpSender(amqp_url, timeout=5.0)
    message = task_message(TASK_INGEST, INGEST, [[{"n": 1}]])
    try:
        assert [await sender.publish(message) for _ in range(3)] == told
    finally:
        await sender.close()
    assert len(await asyncio.to_thread(take_tasks, amqp_url, INGEST)) == 3


async def test_a_lost_connection_is_replaced_on_the_next_publish(amqp_url: str) -> None:
    sender = AmqpSender(amqp_url, timeout=5.0)
    message = task_message(TASK_INGEST, INGEST, [[{"n": 1}]])
    try:
        await sender.publish(message)
        connection = sender._connection
        assert connection is not None
        await connection.close()  # as when the broker restarts
        await sender.publish(message)
    finally:
        await sender.close()
    assert len(await asyncio.to_thread(take_tasks, amqp_url, INGEST)) == 2


async def test_a_broker_that_is_not_there_fails_the_publish_in_time() -> None:
    sender = AmqpSender(f"amqp://guest:guest@127.0.0.1:{free_port()}//", timeout=0.5)
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 - refused, or the timeout: either is a 503
        await sender.publish(task_message(TASK_INGEST, INGEST, [[{"n": 1}]]))
    assert time.monotonic() - started < 5.0
    await sender.close()
