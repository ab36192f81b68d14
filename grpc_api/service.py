"""The PipelineService methods: each checks the caller's scope, then does its one thing.

Blocking work (the database) runs in threads; a call whose deadline passes is cancelled
by gRPC, and submissions wait for the broker no longer than the deadline allows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC

import grpc
from loguru import logger

from grpc_api import errors
from grpc_api.auth import Context, KeyCache, require
from grpc_api.convert import event_message
from grpc_api.observe import request_id_of
from grpc_api.runtime import GrpcRuntime
from grpc_api.submit import Invalid, envelope
from grpc_api.v1 import pipeline_pb2 as pb
from grpc_api.v1.pipeline_pb2_grpc import PipelineServiceServicer
from grpc_api.watch import SubscriptionLost, Watch
from pipeline.events import filter_repository, repository
from pipeline.live.channel import channel_name
from pipeline.live.events import announce_changes
from pipeline.messaging.queues import INGEST, NOTIFY, TASK_PROCESS_EVENT, TASK_SEND_NOTIFICATIONS
from pipeline.messaging.tasks import send_task
from pipeline.notifications.direct import NotQueued, Queued, queue_message
from pipeline.unit_of_work import unit_of_work
from schema.events import EventStatus

PAGE_DEFAULT, PAGE_MAX = 50, 200
STREAM_MAX = 10_000  # events on one SubmitEvents call
STATUSES = frozenset(s.value for s in EventStatus)


class PipelineService(PipelineServiceServicer):  # type: ignore[misc]  # generated, untyped
    def __init__(self, runtime: GrpcRuntime) -> None:
        self.rt = runtime
        self.keys = KeyCache()

    async def _require(self, context: Context, scope: str) -> None:
        await require(context, self.rt.sessions, self.rt.deps, scope, self.keys)

    # Submitting -------------------------------------------------------------------------

    def _wait_s(self, context: Context) -> float:
        remaining = context.time_remaining()
        limit = self.rt.settings.enqueue_timeout_s
        return limit if remaining is None else max(0.0, min(limit, remaining))

    async def _enqueue(self, context: Context, requests: list[pb.SubmitEventRequest]) -> str:
        request_id = request_id_of(context)
        sources = self.rt.settings.grpc_sources
        envelopes = []
        for index, request in enumerate(requests):  # all checked before any is sent
            try:
                envelopes.append(envelope(request, sources, request_id))
            except Invalid as exc:
                field = f"events[{index}].{exc.field}" if len(requests) > 1 else exc.field
                await errors.abort_status(context, errors.invalid(field, exc.description))
        wait_s = self._wait_s(context)
        submits = [self.rt.publisher.submit(e.to_message(), len(e.body), wait_s) for e in envelopes]
        results = await asyncio.gather(*submits, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            logger.warning("{} of {} events not enqueued: {}", len(failed), len(results), failed[0])
            # The wait ran to the caller's own deadline: say so, rather than racing its
            # timer with UNAVAILABLE (which one the caller saw depended on the load).
            if wait_s < self.rt.settings.enqueue_timeout_s and all(
                isinstance(r, TimeoutError) for r in failed
            ):
                await context.abort(
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    "the deadline passed before the broker accepted the events",
                )
            # Some may be enqueued: a retry of them all is deduplicated by the workers.
            await errors.abort_status(
                context, errors.unavailable("the broker did not accept the events; retry")
            )
        return request_id

    async def SubmitEvent(
        self, request: pb.SubmitEventRequest, context: Context
    ) -> pb.SubmitEventResponse:
        await self._require(context, "events:write")
        return pb.SubmitEventResponse(request_id=await self._enqueue(context, [request]))

    async def SubmitEvents(
        self, requests: AsyncIterator[pb.SubmitEventRequest], context: Context
    ) -> pb.SubmitEventsResponse:
        await self._require(context, "events:write")
        received: list[pb.SubmitEventRequest] = []
        async for request in requests:
            received.append(request)
            if len(received) > STREAM_MAX:
                await errors.abort_status(
                    context, errors.invalid("events", f"at most {STREAM_MAX} events per call")
                )
        request_id = await self._enqueue(context, received)
        return pb.SubmitEventsResponse(accepted=len(received), request_id=request_id)

    # Reading ----------------------------------------------------------------------------

    async def GetEvent(self, request: pb.GetEventRequest, context: Context) -> pb.Event:
        await self._require(context, "events:read")

        def read() -> pb.Event | None:
            with self.rt.sessions() as session:
                found = filter_repository.detail(session, request.id)
                return event_message(found[0], full=True) if found else None

        message = await asyncio.to_thread(read)
        if message is None:
            await errors.abort_status(context, errors.not_found("event", str(request.id)))
        return message

    async def ListEvents(
        self, request: pb.ListEventsRequest, context: Context
    ) -> pb.ListEventsResponse:
        await self._require(context, "events:read")
        where, before_id, limit = await self._list_arguments(request, context)

        def read() -> pb.ListEventsResponse:
            with self.rt.sessions() as session:
                rows, next_id = filter_repository.page(
                    session, where, before_id=before_id, limit=limit
                )
                return pb.ListEventsResponse(
                    events=[event_message(row) for row in rows],
                    next_page_token=str(next_id) if next_id is not None else "",
                )

        return await asyncio.to_thread(read)

    async def _list_arguments(
        self, request: pb.ListEventsRequest, context: Context
    ) -> tuple[filter_repository.EventFilter, int | None, int]:
        token = request.page_token
        if token and (not token.isdigit() or len(token) > 18):
            await errors.abort_status(
                context, errors.invalid("page_token", "must be a next_page_token")
            )
        if request.status and request.status not in STATUSES:
            await errors.abort_status(
                context, errors.invalid("status", f"one of {', '.join(sorted(STATUSES))}")
            )
        if not 0 <= request.page_size <= PAGE_MAX:
            await errors.abort_status(context, errors.invalid("page_size", f"0..{PAGE_MAX}"))
        where = filter_repository.EventFilter(
            source=request.source or None,
            type=request.type or None,
            status=request.status or None,
            since=request.since.ToDatetime(UTC) if request.HasField("since") else None,
            until=request.until.ToDatetime(UTC) if request.HasField("until") else None,
            external_id=request.external_id or None,
            text=request.text or None,
        )
        return where, int(token) if token else None, request.page_size or PAGE_DEFAULT

    async def WatchEvents(
        self, request: pb.WatchEventsRequest, context: Context
    ) -> AsyncIterator[pb.EventChange]:
        await self._require(context, "events:read")
        if request.cursor < 0:
            await errors.abort_status(context, errors.invalid("cursor", "must not be negative"))
        watch = Watch(self.rt.sessions, self.rt.redis_url, channel_name(self.rt.settings), request)
        try:
            async for change in watch.changes():
                yield change
        except SubscriptionLost as exc:
            logger.warning("watch ended, live channel lost: {}", exc)
            await errors.abort_status(
                context, errors.unavailable(f"live updates interrupted; resume from {watch.last}")
            )

    # Acting -----------------------------------------------------------------------------

    async def ReplayEvent(
        self, request: pb.ReplayEventRequest, context: Context
    ) -> pb.ReplayEventResponse:
        await self._require(context, "events:write")

        def reset() -> bool:
            with unit_of_work(self.rt.sessions, self.rt.deps) as uow:
                return repository.reset_for_replay(uow.session, request.id) is not None

        if not await asyncio.to_thread(reset):
            await errors.abort_status(context, errors.not_found("event", str(request.id)))
        # Best effort: an event left `received` is dispatched by the sweeper.
        await asyncio.to_thread(
            send_task, self.rt.deps.sender, TASK_PROCESS_EVENT, INGEST, request.id
        )
        await asyncio.to_thread(announce_changes, self.rt.engine, self.rt.deps)
        return pb.ReplayEventResponse(id=request.id, status=EventStatus.RECEIVED.value)

    async def SendNotification(
        self, request: pb.SendNotificationRequest, context: Context
    ) -> pb.SendNotificationResponse:
        await self._require(context, "notifications:write")
        which = request.WhichOneof("message")

        def queue() -> Queued:
            with unit_of_work(self.rt.sessions, self.rt.deps) as uow:
                return queue_message(
                    uow.session,
                    request.telegram_id,
                    text=request.text if which == "text" else None,
                    key=request.text_key if which == "text_key" else None,
                    params=dict(request.params),
                    dedup_key=request.dedup_key,
                )

        try:
            queued = await asyncio.to_thread(queue)
        except NotQueued as exc:
            await errors.abort_status(context, _not_queued(exc, request.telegram_id))
        if queued.queued:  # best effort: beat also sweeps the outbox
            await asyncio.to_thread(send_task, self.rt.deps.sender, TASK_SEND_NOTIFICATIONS, NOTIFY)
        return pb.SendNotificationResponse(
            notification_id=queued.notification_id or 0, queued=queued.queued
        )


def _not_queued(exc: NotQueued, telegram_id: int) -> grpc.Status:
    if exc.reason == "not_found":
        return errors.not_found("user", str(telegram_id))
    if exc.reason == "blocked":
        return errors.failed_precondition("USER_BLOCKED", f"user/{telegram_id}", exc.detail)
    return errors.invalid("message", exc.detail)
