"""On a Redis broker a fetched message is never outside both its queue and the
unacknowledged set: a consumer killed right after the fetch, before it read the reply,
leaves the message to kombu's restore instead of losing it."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest
import redis
from kombu import Connection, Message
from kombu.transport import redis as kombu_redis
from kombu.utils.encoding import bytes_to_str

from adapters.broker import reliable_redis
from adapters.broker.celery_message import TaskMessage, task_message
from adapters.broker.declarations import kombu_queue
from adapters.broker.publisher import redis_delivery_options, transport_options
from adapters.broker.redis_sender import RedisSender
from adapters.broker.reliable_redis import doorbell_key
from pipeline.messaging.queues import INGEST, MAINTENANCE
from tests.support.services import TestServices

VISIBILITY_S = 30


@pytest.fixture
def prefixed(queue_prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_PREFIX", f"{queue_prefix}fetch-")
    reliable_redis.install()


def connect(services: TestServices, transport: Any = None) -> Connection:
    options = transport_options(services.redis_url, timeout=2, visibility_timeout=VISIBILITY_S)
    conn = Connection(services.redis_url, transport_options=options)
    if transport is not None:
        # Set after parsing: kombu takes the transport of a `redis+socket://` URL (the
        # embedded Redis) from its scheme and would ignore a `transport=` argument.
        conn.transport_cls = transport
    return conn


def fetch_and_die(conn: Connection) -> None:
    """Send the fetch, let Redis answer, and drop the connection unread (a SIGKILL)."""
    channel = conn.default_channel
    conn.transport.cycle._register_BRPOP(channel)  # connects and sends the fetch
    time.sleep(0.2)
    channel.client.connection.disconnect()


def publish(conn: Connection, queue_key: str, payload: dict[str, Any]) -> None:
    queue = kombu_queue(queue_key)
    conn.Producer().publish(
        payload, exchange=queue.exchange, routing_key=queue.routing_key, declare=[queue]
    )


def test_a_consumer_killed_after_the_fetch_loses_nothing(
    services: TestServices, prefixed: None
) -> None:
    client = redis.Redis.from_url(services.redis_client_url)
    keys = redis_delivery_options(VISIBILITY_S)
    queue = kombu_queue(INGEST)
    with connect(services) as conn:
        assert isinstance(conn.transport, reliable_redis.Transport)
        publish(conn, INGEST, {"n": 1, "empty": []})
        with conn.Consumer(queue, callbacks=[]):
            fetch_and_die(conn)
        # Popped from the queue and recorded in the same step.
        assert client.llen(queue.name) == 0
        assert client.hlen(keys["unacked_key"]) == client.zcard(keys["unacked_index_key"]) == 1
        # The dead consumer's message comes back after the visibility timeout, intact.
        tags = [bytes_to_str(tag) for tag in client.hkeys(keys["unacked_key"])]
        client.zadd(keys["unacked_index_key"], dict.fromkeys(tags, time.time() - VISIBILITY_S - 1))
        conn.default_channel.qos.restore_visible(num=10, interval=1)
        assert client.llen(queue.name) == 1
        back = queue(conn.default_channel).get(no_ack=False)
        assert back is not None and back.payload == {"n": 1, "empty": []}
        back.ack()
    assert client.hlen(keys["unacked_key"]) == 0


def test_kombus_own_transport_loses_it_in_the_same_place(
    services: TestServices, prefixed: None
) -> None:
    """What the atomic fetch closes: BRPOP pops, the record would follow the reply."""
    client = redis.Redis.from_url(services.redis_client_url)
    keys = redis_delivery_options(VISIBILITY_S)
    queue = kombu_queue(INGEST)
    with connect(services, kombu_redis.Transport) as conn:
        assert not isinstance(conn.transport, reliable_redis.Transport)
        publish(conn, INGEST, {"n": 1})
        with conn.Consumer(queue, callbacks=[]):
            fetch_and_die(conn)
        assert client.llen(queue.name) == 0
        assert client.hlen(keys["unacked_key"]) == 0


@pytest.mark.asyncio
async def test_consumer_gets_every_queue_and_is_woken_by_a_publish(
    services: TestServices, prefixed: None
) -> None:
    """An idle consumer waits on its queues' doorbells, not on a timer: a publish from
    kombu or from the receiver's sender reaches it well before the 1 s fallback."""
    client = redis.Redis.from_url(services.redis_client_url)
    keys = redis_delivery_options(VISIBILITY_S)
    got: list[Message] = []
    queues = [kombu_queue(INGEST), kombu_queue(MAINTENANCE)]

    def wait_for(count: int) -> float:
        started = time.monotonic()
        while len(got) < count and time.monotonic() - started < 5:
            with contextlib.suppress(TimeoutError):
                conn.drain_events(timeout=1)
        assert len(got) == count
        return time.monotonic() - started

    with connect(services) as conn:
        for queue in queues:
            queue(conn.default_channel).declare()
        with conn.Consumer(queues, callbacks=[lambda _, message: got.append(message)]):
            # Idle: an empty look clears the doorbells, then the consumer waits.
            with pytest.raises(TimeoutError):
                conn.drain_events(timeout=0.3)
            publish(conn, INGEST, {"q": "ingest"})
            publish(conn, MAINTENANCE, {"q": "maintenance"})
            wait_for(2)
            with pytest.raises(TimeoutError):
                conn.drain_events(timeout=0.3)
            sender = RedisSender(services.redis_url)
            # The receiver's sender is async; kombu's consumer here blocks, which is
            # fine while nothing else runs on this test's loop.
            await publish_and_close(sender, task_message("t.any", MAINTENANCE, []))
            assert wait_for(3) < 0.5
            assert sorted(str(m.delivery_info["routing_key"]) for m in got) == sorted(
                [queues[0].routing_key, queues[1].routing_key, queues[1].routing_key]
            )
            assert client.hlen(keys["unacked_key"]) == 3
            for message in got:
                message.ack()
    assert client.hlen(keys["unacked_key"]) == client.zcard(keys["unacked_index_key"]) == 0
    assert client.llen(doorbell_key(queues[1].name)) <= reliable_redis.DOORBELL_TOKENS_MAX


async def publish_and_close(sender: RedisSender, message: TaskMessage) -> None:
    await sender.publish(message)
    await sender.close()


def test_a_detached_channel_fails_with_a_connection_error(
    services: TestServices, prefixed: None
) -> None:
    """Celery's cleanup after a broker error closes a channel whose transport it already
    detached; a connection error (not kombu's AttributeError) keeps the worker alive."""
    with connect(services) as conn:
        channel = conn.default_channel
        publish(conn, INGEST, {"n": 1})
        message = kombu_queue(INGEST)(channel).get(no_ack=False)
        assert message is not None
        channel._disconnect_pools()
        conn.transport.client = None
        with pytest.raises(conn.connection_errors):
            channel.qos.restore_unacked()
        channel.qos._delivered.clear()


def test_publish_many_writes_what_a_consumer_reads_in_one_go(
    services: TestServices, prefixed: None
) -> None:
    """The worker's batch send (receipts of a batch): one pipelined round trip on Redis,
    each message as kombu writes it, read by an ordinary kombu consumer."""
    from adapters.broker.publisher import BrokerPublisher
    from pipeline.messaging.queues import FISCAL

    got: list[Message] = []
    publisher = BrokerPublisher(services.redis_url)
    try:
        publisher.publish_many([task_message("t.register", FISCAL, [n]) for n in (1, 2, 3)])
    finally:
        publisher.close()
    with connect(services) as conn:
        queue = kombu_queue(FISCAL)
        with conn.Consumer(queue, callbacks=[lambda _, message: got.append(message)]):
            started = time.monotonic()
            while len(got) < 3 and time.monotonic() - started < 10:
                with contextlib.suppress(TimeoutError):
                    conn.drain_events(timeout=1)
            for message in got:
                message.ack()
    assert sorted(m.decode()[0][0] for m in got) == [1, 2, 3]
    assert {m.headers["task"] for m in got} == {"t.register"}
