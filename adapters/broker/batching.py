"""Group webhooks into broker messages on the event loop.

Every envelope that arrives while a publish is in flight goes out in the next message,
so under load many webhooks share one broker round trip while a lone webhook is sent at
once. `submit` returns only after the broker accepted the message that carries it.

A message costs the workers about as much as the events in it (a transaction, its
locks, the announcements, the task's own overhead), so when they fall behind, messages
of one webhook each would keep them behind. A sender that can tell how many messages
wait in the queue (Redis: the length LPUSH answers) lets the publisher see that: while
messages wait, it holds the next one a little (LINGER_PER_WAITING_S per waiting message,
at most `linger_max_s`) so that it carries more webhooks. Those webhooks would have
waited behind the queued messages anyway; with an empty queue nothing is held, so a
webhook at low rate goes out at once. RabbitMQ's sender tells the length every tenth of a
second (adapters.broker.amqp_sender); in between the last figure holds, until it is stale.

The hold also ends when no more webhooks can join: the batch is full, or every connection
the server holds open has its request waiting in it (`submit(..., connections=)`, from
`webhooks.connections`; HTTP/1.1 carries one request per connection at a time). Without
that count the publisher never holds: closed-loop senders (a few dozen connections, each
waiting for its answer) would each wait the whole hold out, as they did when the hold
did not know the connections (bench_receiver fell from 0.71x to 0.09x of the no-op
endpoint).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Sized
from dataclasses import dataclass
from typing import Any, Protocol

from loguru import logger

from adapters.broker.celery_message import TaskMessage, task_message
from pipeline.messaging.queues import INGEST, TASK_INGEST

MAX_BATCH_BYTES = 4 * 1024 * 1024
# Deadlines are checked on a tick rather than with a timer per request (cheaper).
EXPIRY_TICK_S = 0.05
LINGER_PER_WAITING_S = 0.005
LINGER_MAX_S = 0.05
# A queue length older than this says nothing about the workers any more.
WAITING_STALE_S = 0.5


class AsyncSender(Protocol):
    async def publish(self, message: TaskMessage) -> int | None:
        """Publish; the queue's length afterwards where the broker tells it (this time),
        else None."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class _Pending:
    message: dict[str, Any]
    size: int
    future: asyncio.Future[None]


def _expire(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(TimeoutError("broker did not accept the message in time"))


class BatchingPublisher:
    def __init__(
        self, sender: AsyncSender, *, max_batch: int = 200, linger_max_s: float = 0.0
    ) -> None:
        self.sender = sender
        self.max_batch = max_batch
        self.linger_max_s = linger_max_s
        self._pending: list[_Pending] = []
        self._deadlines: collections.deque[tuple[float, asyncio.Future[None]]] = collections.deque()
        self._wakeup: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # Totals for benchmarks and metrics: broker messages and the envelopes they carried.
        self.messages_sent = 0
        self.envelopes_sent = 0
        self._waiting = 0  # messages that were queued before the last one published
        self._waiting_at = 0.0  # when that was seen
        self._more: asyncio.Event | None = None  # set when no more envelopes can join
        self._connections: Sized | None = None  # the server's open connections (live)

    def _ensure_running(self) -> asyncio.Event:
        if self._wakeup is None or any(task.done() for task in self._tasks):
            for task in self._tasks:
                task.cancel()
            loop = asyncio.get_running_loop()
            self._wakeup = asyncio.Event()
            self._tasks = [
                loop.create_task(self._run(self._wakeup)),
                loop.create_task(self._expire_overdue()),
            ]
        return self._wakeup

    async def submit(
        self, message: dict[str, Any], size: int, wait_s: float, connections: Sized | None = None
    ) -> None:
        """Wait until the broker accepted the message; TimeoutError after `wait_s`.
        `connections`: the server's open connections, a live collection (None: unknown,
        never hold)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._pending.append(_Pending(message, size, future))
        self._deadlines.append((loop.time() + wait_s, future))
        self._connections = connections
        self._ensure_running().set()
        if self._more is not None and self._nobody_else():
            self._more.set()
        await future

    def _nobody_else(self) -> bool:
        """No further envelope can join the next message: it is full, or every open
        connection's request is already waiting for it."""
        waiting = len(self._pending)
        connections = self._connections
        return waiting >= self.max_batch or connections is None or waiting >= len(connections)

    async def _linger(self) -> None:
        """While the workers are behind, let the next message gather more envelopes."""
        loop = asyncio.get_running_loop()
        stale = loop.time() - self._waiting_at > WAITING_STALE_S
        if self.linger_max_s <= 0 or self._waiting <= 0 or stale or self._nobody_else():
            return
        more = self._more = asyncio.Event()
        try:
            until = loop.time() + min(self.linger_max_s, LINGER_PER_WAITING_S * self._waiting)
            # In steps: a connection that closes meanwhile sets no event, but lowers the
            # count that `_nobody_else` compares with.
            while (left := until - loop.time()) > 0 and not self._nobody_else():
                try:
                    await asyncio.wait_for(more.wait(), min(left, LINGER_PER_WAITING_S))
                except TimeoutError:
                    continue
        finally:
            self._more = None

    async def _expire_overdue(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(EXPIRY_TICK_S)
            now = loop.time()
            # Deadlines are appended in time order for a constant wait; a longer wait
            # behind a shorter one is only checked a little late.
            while self._deadlines and (
                self._deadlines[0][0] <= now or self._deadlines[0][1].done()
            ):
                _, future = self._deadlines.popleft()
                _expire(future)

    def _take(self) -> list[_Pending]:
        count = size = 0
        for pending in self._pending:
            if count >= self.max_batch or size >= MAX_BATCH_BYTES:
                break
            count += 1
            size += pending.size
        batch, self._pending = self._pending[:count], self._pending[count:]
        return batch

    async def _run(self, wakeup: asyncio.Event) -> None:
        while True:
            await wakeup.wait()
            wakeup.clear()
            while self._pending:
                await self._linger()
                # A request that already answered 503 is left out: the provider retries it.
                batch = [p for p in self._take() if not p.future.done()]
                if not batch:
                    continue
                error: BaseException | None = None
                try:
                    queued = await self.sender.publish(
                        task_message(TASK_INGEST, INGEST, [[p.message for p in batch]])
                    )
                    if queued is not None:  # None: not told this time (RabbitMQ)
                        self._waiting = queued - 1
                        self._waiting_at = asyncio.get_running_loop().time()
                    self.messages_sent += 1
                    self.envelopes_sent += len(batch)
                except Exception as exc:
                    logger.warning("publish of {} envelopes failed: {}", len(batch), exc)
                    error = ConnectionError(f"broker did not accept the message: {exc}")
                for p in batch:
                    if not p.future.done():
                        if error is None:
                            p.future.set_result(None)
                        else:
                            p.future.set_exception(error)

    async def ping(self) -> None:
        await self.sender.ping()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.sender.close()
