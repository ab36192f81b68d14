"""A client of the pipeline's gRPC API: submit events, read them back, watch changes,
notify a bot user.

    pipeline up                                   # starts the gRPC API on :50051
    pipeline apikeys create crm --scope events:write --scope events:read \\
        --scope notifications:write              # prints the key once
    GRPC_SOURCES='{"crm": ""}' must be set for `pipeline up` (the handler may be empty)

    PIPELINE_API_KEY=pk_... python examples/grpc_client.py submit order-1001
    PIPELINE_API_KEY=pk_... python examples/grpc_client.py list
    PIPELINE_API_KEY=pk_... python examples/grpc_client.py watch [CURSOR]
    PIPELINE_API_KEY=pk_... python examples/grpc_client.py notify TELEGRAM_ID "text"

Other languages: generate a client from proto/pipeline/v1/pipeline.proto, or explore
with `grpcurl -plaintext localhost:50051 list` (the server has reflection).
"""

from __future__ import annotations

import json
import os
import sys
import time

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from grpc_api.v1 import pipeline_pb2 as pb
from grpc_api.v1.pipeline_pb2_grpc import PipelineServiceStub

TARGET = os.environ.get("PIPELINE_GRPC", "localhost:50051")
METADATA = (("x-api-key", os.environ.get("PIPELINE_API_KEY", "")),)


def retry_after(error: grpc.RpcError) -> float | None:
    """The server's hint when the broker did not take the events (UNAVAILABLE)."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            return info.retry_delay.seconds + info.retry_delay.nanos / 1e9
    return None


def submit(client: PipelineServiceStub, external_id: str) -> None:
    event = pb.SubmitEventRequest(
        source="crm",
        external_id=external_id,  # a retry with the same id is stored once
        type="order.shipped",
        payload=json.dumps({"order": external_id, "carrier": "cdek"}).encode(),
    )
    for _ in range(5):
        try:
            answer = client.SubmitEvent(event, metadata=METADATA, timeout=10)
        except grpc.RpcError as exc:
            delay = retry_after(exc)
            if exc.code() != grpc.StatusCode.UNAVAILABLE or delay is None:
                raise
            print(f"broker busy, retrying in {delay:.0f} s")
            time.sleep(delay)
            continue
        print(f"accepted (request id {answer.request_id})")
        return
    raise SystemExit("not accepted after 5 attempts")


def list_events(client: PipelineServiceStub) -> None:
    token = ""
    while True:
        page = client.ListEvents(
            pb.ListEventsRequest(source="crm", page_size=50, page_token=token),
            metadata=METADATA,
            timeout=10,
        )
        for event in page.events:
            print(event.id, event.external_id, event.type, event.status)
        token = page.next_page_token
        if not token:
            return


def watch(client: PipelineServiceStub, cursor: int | None) -> None:
    """Prints changes; after a disconnect, run again with the last cursor printed."""
    request = pb.WatchEventsRequest(sources=["crm"])
    if cursor is not None:
        request.cursor = cursor
    for change in client.WatchEvents(request, metadata=METADATA):
        print(change.cursor, change.event.id, change.event.external_id, change.event.status)


def notify(client: PipelineServiceStub, telegram_id: int, text: str) -> None:
    answer = client.SendNotification(
        pb.SendNotificationRequest(telegram_id=telegram_id, text=text),
        metadata=METADATA,
        timeout=10,
    )
    print(f"queued as notification {answer.notification_id}")


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit(__doc__)
    with grpc.insecure_channel(TARGET) as channel:
        client = PipelineServiceStub(channel)
        command, rest = argv[0], argv[1:]
        if command == "submit":
            submit(client, rest[0])
        elif command == "list":
            list_events(client)
        elif command == "watch":
            watch(client, int(rest[0]) if rest else None)
        elif command == "notify":
            notify(client, int(rest[0]), rest[1])
        else:
            raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
