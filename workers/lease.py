"""Lease renewal on a Redis broker: a live worker keeps the messages it holds.

kombu's Redis transport gives a delivered message back to its queue once it has been
unacknowledged for the visibility timeout, whoever holds it. With a short timeout (so
that a dead worker's messages come back within a minute) that would also take back a
long task still running, or a countdown still waiting, in a live worker, and run it
twice. So the worker's main process stamps the delivery time of every message it holds
(running, prefetched, or waiting for its countdown) as "now" a few times per timeout;
only a worker that stopped stamping — a dead one — loses its messages.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import redis
from loguru import logger

from adapters.broker.publisher import redis_delivery_options
from pipeline.messaging.urls import is_amqp, redis_py_url

RENEWALS_PER_TIMEOUT = 4


def held_delivery_tags() -> list[str]:
    """Delivery tags of the messages this worker holds (Celery's own bookkeeping)."""
    from celery.worker import state

    for _ in range(5):  # the sets are changed by the consumer's thread meanwhile
        try:
            held = [
                *tuple(state.active_requests),
                *tuple(state.reserved_requests),
                *tuple(state.scheduled_requests),
            ]
            break
        except RuntimeError:
            time.sleep(0.01)
    else:
        return []
    tags = {getattr(request.message, "delivery_tag", None) for request in held}
    return sorted(str(tag) for tag in tags if tag)


def renew(client: redis.Redis, index_key: str, tags: Iterable[str], now: float) -> int:
    """Stamp the tags that are still unacknowledged (XX: an acked one is not revived)."""
    stamps = {tag: now for tag in tags}
    if not stamps:
        return 0
    return int(client.zadd(index_key, stamps, xx=True, ch=True) or 0)


class LeaseRenewer:
    def __init__(
        self,
        broker_url: str,
        visibility_timeout: int,
        held: Callable[[], list[str]] = held_delivery_tags,
    ) -> None:
        self.client = redis.Redis.from_url(
            redis_py_url(broker_url), socket_timeout=5, socket_connect_timeout=5
        )
        self.index_key = str(redis_delivery_options(visibility_timeout)["unacked_index_key"])
        self.every_s = visibility_timeout / RENEWALS_PER_TIMEOUT
        self.held = held
        self._failing = False
        self._stop = threading.Event()

    def step(self) -> None:
        try:
            renew(self.client, self.index_key, self.held(), time.time())
        except redis.RedisError as exc:
            if not self._failing:  # once per outage, not every few seconds
                logger.warning("cannot renew held messages in the broker: {}", exc)
            self._failing = True
            return
        if self._failing:
            logger.info("renewing held messages in the broker again")
        self._failing = False

    def run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.step()

    def start(self) -> None:
        threading.Thread(target=self.run, name="broker-lease", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()


def start_lease_renewal(broker_url: str, visibility_timeout: int) -> LeaseRenewer | None:
    """In the worker's main process; nothing to do on RabbitMQ (it watches connections)."""
    if not broker_url or is_amqp(broker_url):
        return None
    renewer = LeaseRenewer(broker_url, visibility_timeout)
    renewer.start()
    logger.info(
        "renewing held broker messages every {:.0f} s (visibility timeout {} s)",
        renewer.every_s,
        visibility_timeout,
    )
    return renewer
