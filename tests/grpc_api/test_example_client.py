"""examples/grpc_client.py works against a running server."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from types import ModuleType

import grpc
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from grpc_api.v1.pipeline_pb2_grpc import PipelineServiceStub
from pipeline.settings import Settings
from tests.grpc_api.support import ServerThread, drain_ingest, event_service
from tests.support.processes import ROOT


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("grpc_client", ROOT / "examples/grpc_client.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_submits_and_lists(
    server: ServerThread,
    api_key: Callable[..., str],
    db: sessionmaker[Session],
    engine: Engine,
    grpc_settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client_module = example()
    monkeypatch.setattr(
        client_module, "METADATA", (("x-api-key", api_key("events:write", "events:read")),)
    )
    with grpc.insecure_channel(server.address) as channel:
        client = PipelineServiceStub(channel)
        client_module.submit(client, "order-1001")
        drain_ingest(grpc_settings.broker_url or "", event_service(db, grpc_settings), engine)
        client_module.list_events(client)
    out = capsys.readouterr().out
    assert "accepted (request id" in out
    assert "order-1001 order.shipped processed" in out
