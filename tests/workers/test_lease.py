"""On a Redis broker a live worker keeps its messages (lease renewal) and a dead worker's
come back after the visibility timeout, through kombu's own restore."""

from __future__ import annotations

import time

import pytest
import redis
from kombu import Connection

from adapters.broker.declarations import kombu_queue
from adapters.broker.publisher import redis_delivery_options, transport_options
from pipeline.messaging.queues import INGEST
from tests.support.services import TestServices
from workers.lease import LeaseRenewer, renew

VISIBILITY_S = 30


def test_renewed_message_stays_and_abandoned_one_is_restored(
    services: TestServices, queue_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUEUE_PREFIX", f"{queue_prefix}lease-")
    options = transport_options(services.redis_url, timeout=2, visibility_timeout=VISIBILITY_S)
    keys = redis_delivery_options(VISIBILITY_S)
    client = redis.Redis.from_url(services.redis_client_url)
    queue = kombu_queue(INGEST)
    with Connection(services.redis_url, transport_options=options) as conn:
        producer = conn.Producer()
        for n in (1, 2):
            producer.publish(
                {"n": n}, exchange=queue.exchange, routing_key=queue.routing_key, declare=[queue]
            )
        bound = queue(conn.default_channel)
        held, abandoned = bound.get(no_ack=False), bound.get(no_ack=False)
        assert held is not None and abandoned is not None
        assert client.llen(queue.name) == 0
        # Both delivered long ago; the live worker renews only the one it still holds.
        old = time.time() - VISIBILITY_S - 10
        index = str(keys["unacked_index_key"])
        client.zadd(index, {held.delivery_tag: old, abandoned.delivery_tag: old})
        renewer = LeaseRenewer(services.redis_url, VISIBILITY_S, held=lambda: [held.delivery_tag])
        renewer.step()
        conn.default_channel.qos.restore_visible(num=10, interval=1)
        assert client.llen(queue.name) == 1  # the abandoned one is back in its queue
        assert client.hexists(keys["unacked_key"], held.delivery_tag)
        assert not client.hexists(keys["unacked_key"], abandoned.delivery_tag)
        back = bound.get(no_ack=False)
        assert back is not None and back.payload == {"n": 2}
        held.ack()
        back.ack()
        # An acknowledged message is not revived by a late renewal.
        assert renew(client, index, [held.delivery_tag], time.time()) == 0
        assert client.zscore(index, held.delivery_tag) is None


def test_redis_options_bound_the_recovery_time() -> None:
    options = redis_delivery_options(60)
    # The restore looks every few seconds and a crashed restorer's mutex expires soon.
    assert options["unacked_restore_interval"] * options["unacked_restore_throttle"] <= 10
    assert options["unacked_mutex_expire"] <= 60
