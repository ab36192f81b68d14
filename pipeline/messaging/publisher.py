"""Publishing task messages to the broker, bounded in time.

`BrokerPublisher` is the synchronous, kombu-based sender (Redis and RabbitMQ alike, with
publisher confirms on RabbitMQ). `BatchingPublisher` puts it behind a thread so that an
asyncio server can hand over many envelopes per broker round trip: under load, every
envelope that arrives while one publish is in flight goes out in the next message.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from dataclasses import dataclass
from typing import Any

from kombu import Connection, Producer
from loguru import logger

from pipeline.messaging.celery_message import TaskMessage, task_message
from pipeline.messaging.queues import INGEST, TASK_INGEST, kombu_queue

MAX_BATCH_BYTES = 4 * 1024 * 1024


def is_amqp(url: str) -> bool:
    return url.split("://", 1)[0] in {"amqp", "amqps", "pyamqp"}


def transport_options(url: str, *, timeout: float, visibility_timeout: int) -> dict[str, Any]:
    if is_amqp(url):
        return {"confirm_publish": True, "confirm_timeout": timeout}
    return {
        "visibility_timeout": visibility_timeout,
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "max_retries": 1,
    }


class BrokerPublisher:
    """One kombu connection, reused; every publish retried a bounded number of times."""

    def __init__(self, url: str, *, timeout: float = 1.0, max_retries: int = 1) -> None:
        self.url = url
        self.timeout = timeout
        self.max_retries = max_retries
        self._conn = self._connect()
        self._producer: Producer | None = None

    def _connect(self) -> Connection:
        options = transport_options(self.url, timeout=self.timeout, visibility_timeout=3600)
        return Connection(
            self.url, connect_timeout=self.timeout, transport_options=options, heartbeat=0
        )

    def publish(self, message: TaskMessage) -> None:
        if self._producer is None:
            self._producer = Producer(self._conn)
        target = kombu_queue(message.queue)
        self._producer.publish(
            message.body,
            exchange=target.exchange,
            routing_key=target.routing_key,
            declare=[target],
            content_type="application/json",
            content_encoding="utf-8",
            headers=message.headers,
            correlation_id=message.task_id,
            delivery_mode=2,
            retry=True,
            retry_policy={
                "max_retries": self.max_retries,
                "interval_start": 0,
                "interval_step": 0.2,
                "interval_max": 0.5,
            },
        )

    def send(self, name: str, queue_name: str, *args: Any) -> str:
        message = task_message(name, queue_name, list(args))
        self.publish(message)
        return message.task_id

    def ping(self) -> None:
        conn = self._connect()
        try:
            conn.ensure_connection(max_retries=1, timeout=self.timeout)
        finally:
            conn.release()

    def reset(self) -> None:
        """Drop the connection after a failure, so the next publish starts clean."""
        try:
            self._conn.release()
        except Exception as exc:  # already broken; nothing else to do with it
            logger.debug("closing broken broker connection: {}", exc)
        self._conn = self._connect()
        self._producer = None

    def close(self) -> None:
        self._conn.release()


@dataclass(slots=True)
class _Pending:
    message: dict[str, Any]
    size: int
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


class BatchingPublisher:
    """Hands envelopes to a publishing thread; each `submit` resolves once published."""

    def __init__(self, publisher: BrokerPublisher, *, max_batch: int = 200) -> None:
        self.publisher = publisher
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="broker-publisher", daemon=True)
        self._thread.start()

    async def submit(self, message: dict[str, Any], size: int, wait_s: float) -> None:
        """Wait until the broker accepted the message; raise TimeoutError after `wait_s`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.put(_Pending(message, size, future, loop))
        await asyncio.wait_for(future, wait_s)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
        self.publisher.close()

    def _take_batch(self, first: _Pending) -> tuple[list[_Pending], bool]:
        batch, size = [first], first.size
        while len(batch) < self.max_batch and size < MAX_BATCH_BYTES:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return batch, True
            batch.append(item)
            size += item.size
        return batch, False

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._take_batch(first)
            # A request that already answered 503 is left out: the provider will retry it.
            live = [item for item in batch if not item.future.done()]
            error: BaseException | None = None
            if live:
                try:
                    self.publisher.publish(
                        task_message(TASK_INGEST, INGEST, [[item.message for item in live]])
                    )
                except Exception as exc:
                    error = ConnectionError(f"broker did not accept the message: {exc}")
                    logger.warning("publish of {} envelopes failed: {}", len(live), exc)
                    self.publisher.reset()
            by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            for item in live:
                by_loop.setdefault(item.loop, []).append(item.future)
            for loop, futures in by_loop.items():
                if not loop.is_closed():
                    loop.call_soon_threadsafe(_settle, futures, error)
