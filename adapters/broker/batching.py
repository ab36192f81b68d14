"""Group webhooks into broker messages on the event loop.

Every envelope that arrives while a publish is in flight goes out in the next message,
so under load many webhooks share one broker round trip while a lone webhook is sent at
once. `submit` returns only after the broker accepted the message that carries it.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass
from typing import Any, Protocol

from loguru import logger

from adapters.broker.celery_message import TaskMessage, task_message
from pipeline.messaging.queues import INGEST, TASK_INGEST

MAX_BATCH_BYTES = 4 * 1024 * 1024
# Deadlines are checked on a tick rather than with a timer per request (cheaper).
EXPIRY_TICK_S = 0.05


class AsyncSender(Protocol):
    async def publish(self, message: TaskMessage) -> None: ...

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
    def __init__(self, sender: AsyncSender, *, max_batch: int = 200) -> None:
        self.sender = sender
        self.max_batch = max_batch
        self._pending: list[_Pending] = []
        self._deadlines: collections.deque[tuple[float, asyncio.Future[None]]] = collections.deque()
        self._wakeup: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        # Totals for benchmarks and metrics: broker messages and the envelopes they carried.
        self.messages_sent = 0
        self.envelopes_sent = 0

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

    async def submit(self, message: dict[str, Any], size: int, wait_s: float) -> None:
        """Wait until the broker accepted the message; TimeoutError after `wait_s`."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._pending.append(_Pending(message, size, future))
        self._deadlines.append((loop.time() + wait_s, future))
        self._ensure_running().set()
        await future

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
                # A request that already answered 503 is left out: the provider retries it.
                batch = [p for p in self._take() if not p.future.done()]
                if not batch:
                    continue
                error: BaseException | None = None
                try:
                    await self.sender.publish(
                        task_message(TASK_INGEST, INGEST, [[p.message for p in batch]])
                    )
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
