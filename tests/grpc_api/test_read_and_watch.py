"""GetEvent, ListEvents, ReplayEvent and WatchEvents against a running server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from grpc_api.v1 import pipeline_pb2 as pb
from grpc_api.v1.pipeline_pb2_grpc import PipelineServiceStub
from pipeline.embedded import EmbeddedRedis
from pipeline.live.events import changes_since, latest_cursor
from pipeline.messaging.queues import INGEST, TASK_PROCESS_EVENT
from pipeline.settings import Settings
from schema.events import Event
from tests.grpc_api.support import (
    ServerThread,
    drain_ingest,
    event_service,
    key_metadata,
    serving,
    stub,
)
from tests.grpc_api.test_submit import submit_request
from tests.support.broker import take_tasks


@pytest.fixture
def submit(
    server: ServerThread,
    api_key: Callable[..., str],
    db: sessionmaker[Session],
    engine: Engine,
    grpc_settings: Settings,
) -> Callable[..., None]:
    """Submit events over gRPC and let the worker side process and announce them."""
    key = key_metadata(api_key("events:write"))
    service = event_service(db, grpc_settings)

    def run(*external_ids: str, **payload: object) -> None:
        with stub(server.address) as client:
            requests = [submit_request(i, **payload) for i in external_ids]
            client.SubmitEvents(iter(requests), metadata=key, timeout=10)
        drain_ingest(grpc_settings.broker_url or "", service, engine)

    return run


@pytest.fixture
def client(server: ServerThread) -> Iterator[PipelineServiceStub]:
    with stub(server.address) as found:
        yield found


def test_get_list_with_filters_and_pages_and_replay(
    submit: Callable[..., None],
    client: PipelineServiceStub,
    api_key: Callable[..., str],
    db: sessionmaker[Session],
    grpc_settings: Settings,
) -> None:
    submit("l-1", "l-2", "l-3")
    submit("l-4", ignore=True)
    key = key_metadata(api_key("events:read", "events:write"))

    first = client.ListEvents(pb.ListEventsRequest(page_size=2), metadata=key, timeout=10)
    assert [e.external_id for e in first.events] == ["l-4", "l-3"] and first.next_page_token
    rest = client.ListEvents(
        pb.ListEventsRequest(page_size=2, page_token=first.next_page_token), metadata=key
    )
    assert [e.external_id for e in rest.events] == ["l-2", "l-1"] and not rest.next_page_token
    ignored = client.ListEvents(pb.ListEventsRequest(status="ignored"), metadata=key)
    assert [e.external_id for e in ignored.events] == ["l-4"]
    with pytest.raises(grpc.RpcError) as caught:
        client.ListEvents(pb.ListEventsRequest(page_token="abc"), metadata=key)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    event_id = first.events[1].id
    full = client.GetEvent(pb.GetEventRequest(id=event_id), metadata=key, timeout=10)
    assert full.status == "processed" and full.payload == b'{"order":"l-3"}'
    assert full.received_at.seconds > 0 and full.request_id
    with pytest.raises(grpc.RpcError) as caught:
        client.GetEvent(pb.GetEventRequest(id=10**9), metadata=key)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND

    replayed = client.ReplayEvent(pb.ReplayEventRequest(id=event_id), metadata=key, timeout=10)
    assert replayed.status == "received"
    with db() as session:
        assert session.scalar(select(Event.status).where(Event.id == event_id)) == "received"
    # Sent through the runtime's task port, as the worker receives it.
    queued = take_tasks(grpc_settings.broker_url or "", INGEST)
    assert queued == [(TASK_PROCESS_EVENT, [event_id])]


def _collect(call: Iterator[pb.EventChange], into: list[pb.EventChange], want: int) -> None:
    for change in call:
        into.append(change)
        if len(into) >= want:
            return


def _watch(
    client: PipelineServiceStub, key: tuple[tuple[str, str], ...], cursor: int
) -> tuple[grpc.Future, list[pb.EventChange]]:
    call = client.WatchEvents(pb.WatchEventsRequest(cursor=cursor), metadata=key, timeout=60)
    return call, []


def test_watch_resumes_from_a_cursor_with_no_gap_and_no_repeat(
    submit: Callable[..., None],
    client: PipelineServiceStub,
    api_key: Callable[..., str],
    db: sessionmaker[Session],
) -> None:
    key = key_metadata(api_key("events:read"))
    with db() as session:
        start = latest_cursor(session)

    submit("w-1", "w-2")
    call, first = _watch(client, key, start)
    _collect(call, first, 2)
    call.cancel()
    resume_at = first[-1].cursor

    submit("w-3")  # while nobody watches
    call, second = _watch(client, key, resume_at)
    reader = threading.Thread(target=_collect, args=(call, second, 2))
    reader.start()
    submit("w-4")  # while the resumed stream is open: live
    reader.join(30)
    call.cancel()

    with db() as session:
        expected = [c["cursor"] for c in changes_since(session, start)]
    got = [c.cursor for c in first + second]
    assert got == expected and len(set(got)) == len(got)
    assert [c.event.external_id for c in first + second] == ["w-1", "w-2", "w-3", "w-4"]
    assert {c.event.status for c in second} == {"processed"}


def test_watch_from_now_filters_by_source_and_status(
    submit: Callable[..., None], client: PipelineServiceStub, api_key: Callable[..., str]
) -> None:
    key = key_metadata(api_key("events:read"))
    submit("f-0")  # before the watch: not sent
    call = client.WatchEvents(
        pb.WatchEventsRequest(sources=["crm"], statuses=["ignored"]), metadata=key, timeout=30
    )
    got: list[pb.EventChange] = []
    reader = threading.Thread(target=_collect, args=(call, got, 1))
    reader.start()
    # The stream subscribes before it answers anything; give it a moment to do so.
    threading.Event().wait(0.5)
    submit("f-1")
    submit("f-2", ignore=True)
    reader.join(30)
    call.cancel()
    assert [c.event.external_id for c in got] == ["f-2"]


def test_watch_ends_unavailable_with_the_cursor_when_redis_is_lost(
    grpc_settings: Settings, api_key: Callable[..., str], tmp_path: Path
) -> None:
    live = EmbeddedRedis(tmp_path / "redis")
    live.start()
    try:
        settings = grpc_settings.model_copy(update={"redis_url": live.client_url(0)})
        with serving(settings) as server, stub(server.address) as client:
            call = client.WatchEvents(
                pb.WatchEventsRequest(cursor=0),
                metadata=key_metadata(api_key("events:read")),
                timeout=30,
            )
            threading.Event().wait(0.5)  # subscribed and caught up
            live.stop()
            with pytest.raises(grpc.RpcError) as caught:
                next(iter(call))
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "resume from 0" in (caught.value.details() or "")
    finally:
        live.stop()
