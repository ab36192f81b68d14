"""SubmitEvent(s) against a running server: accepted only once the broker holds the event,
processed by the worker side, deduplicated, refused when the broker is down, and only for
callers with the right scope."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.broker.batching import BatchingPublisher
from adapters.broker.publisher import make_sender
from grpc_api.v1 import pipeline_pb2 as pb
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
from tests.support.processes import free_port

WRITE = "events:write"


def submit_request(external_id: str, **payload: object) -> pb.SubmitEventRequest:
    return pb.SubmitEventRequest(
        source="crm",
        external_id=external_id,
        type="order.shipped",
        payload=json.dumps(payload or {"order": external_id}).encode(),
    )


def details(error: grpc.RpcError) -> list[object]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    found: list[object] = []
    for packed in status.details:
        for kind in (
            error_details_pb2.RetryInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.ErrorInfo,
        ):
            if packed.Is(kind.DESCRIPTOR):
                message = kind()
                packed.Unpack(message)
                found.append(message)
    return found


def test_submitted_events_are_processed_once_per_external_id(
    server: ServerThread,
    api_key: Callable[..., str],
    db: sessionmaker[Session],
    engine: Engine,
    grpc_settings: Settings,
) -> None:
    key = key_metadata(api_key(WRITE))
    with stub(server.address) as client:
        answer = client.SubmitEvent(submit_request("o-1"), metadata=key, timeout=10)
        assert answer.request_id
        many = client.SubmitEvents(
            iter([submit_request("o-2"), submit_request("o-3"), submit_request("o-1")]),
            metadata=key,
            timeout=10,
        )
        assert many.accepted == 3
        # The same event again, a call later (a client retrying after a lost answer).
        client.SubmitEvent(submit_request("o-2"), metadata=key, timeout=10)

    result = drain_ingest(grpc_settings.broker_url or "", event_service(db, grpc_settings), engine)
    assert (result.stored, result.duplicates) == (3, 2)
    with db() as session:
        rows = session.scalars(select(Event).order_by(Event.external_id)).all()
        assert [(e.source, e.external_id, e.status) for e in rows] == [
            ("crm", "o-1", "processed"),
            ("crm", "o-2", "processed"),
            ("crm", "o-3", "processed"),
        ]
        assert rows[0].payload == {"order": "o-1"} and rows[0].type == "order.shipped"
        assert sum(e.duplicates for e in rows) == 2


def test_invalid_events_are_refused_with_the_field(
    server: ServerThread, api_key: Callable[..., str]
) -> None:
    key = key_metadata(api_key(WRITE))
    cases = {
        "source": pb.SubmitEventRequest(source="nope", external_id="x", type="t", payload=b"{}"),
        "external_id": pb.SubmitEventRequest(source="crm", external_id="", type="t"),
        "type": pb.SubmitEventRequest(source="crm", external_id="x", type="a\nb"),
        "payload": pb.SubmitEventRequest(source="crm", external_id="x", type="t", payload=b"[1]"),
    }
    with stub(server.address) as client:
        for field, request in cases.items():
            with pytest.raises(grpc.RpcError) as caught:
                client.SubmitEvent(request, metadata=key, timeout=10)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            [bad] = details(caught.value)
            assert isinstance(bad, error_details_pb2.BadRequest)
            assert bad.field_violations[0].field == field
        # In a stream the violation names the event; none of the stream is enqueued.
        with pytest.raises(grpc.RpcError) as caught:
            client.SubmitEvents(
                iter([submit_request("ok-1"), cases["payload"]]), metadata=key, timeout=10
            )
        [bad] = details(caught.value)
        assert isinstance(bad, error_details_pb2.BadRequest)
        assert bad.field_violations[0].field == "events[1].payload"


def test_broker_down_answers_unavailable_with_a_retry_hint(
    grpc_settings: Settings, api_key: Callable[..., str]
) -> None:
    dead = BatchingPublisher(make_sender(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5))
    with serving(grpc_settings, dead) as server, stub(server.address) as client:
        key = key_metadata(api_key(WRITE))
        for call in (
            lambda: client.SubmitEvent(submit_request("d-1"), metadata=key, timeout=10),
            lambda: client.SubmitEvents(iter([submit_request("d-2")]), metadata=key, timeout=10),
        ):
            with pytest.raises(grpc.RpcError) as caught:
                call()
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            [retry] = details(caught.value)
            assert isinstance(retry, error_details_pb2.RetryInfo)
            assert retry.retry_delay.seconds >= 1


@pytest.fixture
def silent_broker() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung broker)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield listener.getsockname()[1]
    listener.close()


def test_the_deadline_bounds_the_wait_for_the_broker(
    grpc_settings: Settings,
    api_key: Callable[..., str],
    silent_broker: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = grpc_settings.model_copy(update={"enqueue_timeout_s": 20.0})
    hung = BatchingPublisher(make_sender(f"redis://127.0.0.1:{silent_broker}/0", timeout=20))
    with serving(settings, hung) as server, stub(server.address) as client:
        key = key_metadata(api_key(WRITE))
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as caught:
            client.SubmitEvent(submit_request("slow"), metadata=key, timeout=0.5)
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert time.monotonic() - started < 3
        # The server gave up too: the next call is answered at once, not queued behind it.
        with pytest.raises(grpc.RpcError) as again:
            client.GetEvent(pb.GetEventRequest(id=1), metadata=key, timeout=5)
        assert again.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_callers_need_a_valid_key_with_the_scope(
    server: ServerThread, api_key: Callable[..., str]
) -> None:
    reader = api_key("events:read")
    with stub(server.address) as client:
        for metadata in ((), (("x-api-key", "pk_nothing_here"),), (("authorization", "Basic x"),)):
            with pytest.raises(grpc.RpcError) as caught:
                client.SubmitEvent(submit_request("a-1"), metadata=metadata, timeout=10)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as caught:
            client.SubmitEvent(submit_request("a-1"), metadata=key_metadata(reader), timeout=10)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
        [info] = details(caught.value)
        assert isinstance(info, error_details_pb2.ErrorInfo)
        assert info.metadata["scope"] == WRITE
        # The same key as a bearer token reads.
        page = client.ListEvents(
            pb.ListEventsRequest(), metadata=key_metadata(reader, bearer=True), timeout=10
        )
        assert list(page.events) == []


def test_accepted_means_enqueued_on_either_broker(
    broker_url: str,
    grpc_settings: Settings,
    api_key: Callable[..., str],
    db: sessionmaker[Session],
    engine: Engine,
) -> None:
    settings = grpc_settings.model_copy(update={"broker_url": broker_url})
    with serving(settings) as server, stub(server.address) as client:
        answer = client.SubmitEvents(
            iter([submit_request(f"b-{n}") for n in range(50)]),
            metadata=key_metadata(api_key(WRITE)),
            timeout=10,
        )
        assert answer.accepted == 50
    result = drain_ingest(broker_url, event_service(db, settings), engine)
    assert result.stored == 50
