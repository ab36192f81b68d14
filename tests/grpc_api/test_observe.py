"""The interceptor: request ids, metrics by method and code, Sentry for the unexpected;
and internal sources as the worker sees them."""

from __future__ import annotations

import json
from collections.abc import Callable

import grpc
import pytest

from grpc_api.runtime import check_sources
from grpc_api.v1 import pipeline_pb2 as pb
from pipeline import metrics
from pipeline.events import filter_repository
from pipeline.events.handlers import load_handler_modules
from pipeline.providers.registry import build_registry
from pipeline.providers.settings_set import ProviderSettingsSet
from pipeline.settings import Settings, get_settings
from tests.grpc_api.conftest import SOURCES
from tests.grpc_api.handlers import on_crm_event
from tests.grpc_api.support import ServerThread, key_metadata, stub
from tests.support.processes import wait_until
from tests.support.sentry_capture import captured_sentry

GET = "/pipeline.v1.PipelineService/GetEvent"


def calls(method: str, code: str) -> float:
    value = metrics.GRPC_CALLS.labels(method, code)._value.get()  # type: ignore[attr-defined]
    return float(value)


def test_request_ids_metrics_and_sentry(
    server: ServerThread, api_key: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = key_metadata(api_key("events:read"))
    before = calls(GET, "NOT_FOUND")
    with stub(server.address) as client:
        with pytest.raises(grpc.RpcError) as caught:
            client.GetEvent(
                pb.GetEventRequest(id=42), metadata=(*key, ("x-request-id", "req-42")), timeout=10
            )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert ("x-request-id", "req-42") in (caught.value.trailing_metadata() or ())
        # Counted as the server finishes the call, which may be just after the answer.
        wait_until(lambda: calls(GET, "NOT_FOUND") == before + 1, 5, "the call to be counted")

        def broken(*_args: object) -> None:
            raise RuntimeError("the disk is on fire")

        monkeypatch.setattr(filter_repository, "detail", broken)
        with captured_sentry() as transport, pytest.raises(grpc.RpcError) as caught:
            client.GetEvent(
                pb.GetEventRequest(id=1), metadata=(*key, ("x-request-id", "req-43")), timeout=10
            )
        assert caught.value.code() == grpc.StatusCode.INTERNAL
        assert "req-43" in (caught.value.details() or "")
        assert "fire" not in (caught.value.details() or "")  # no internals to the caller
        [event] = transport.events()
        assert event["tags"]["request_id"] == "req-43"
        assert event["tags"]["grpc_method"] == GET
    wait_until(lambda: calls(GET, "INTERNAL") >= 1, 5, "the failure to be counted")


def test_declared_sources_reach_the_workers_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRPC_SOURCES", json.dumps(SOURCES))
    get_settings.cache_clear()
    provider = build_registry(get_settings(), with_plugins=False).get("crm")
    assert provider is not None and not provider.configured()  # no webhook route
    assert provider.payload(b'{"a": 1}', {}) == {"a": 1}
    assert (
        load_handler_modules(grpc_sources=get_settings().grpc_sources).find("crm", "order.shipped")
        is on_crm_event
    )


def test_an_internal_source_may_not_take_a_providers_name(grpc_settings: Settings) -> None:
    clashing = grpc_settings.model_copy(update={"grpc_sources": {"stripe": ""}})
    with pytest.raises(RuntimeError, match="names webhook providers: stripe"):
        check_sources(clashing, ProviderSettingsSet.from_env())
