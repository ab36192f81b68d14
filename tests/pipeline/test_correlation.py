"""The correlation id follows an event into outbound HTTP calls."""

from __future__ import annotations

import httpx
import respx

from pipeline.correlation import HEADER, client_hooks, correlation


@respx.mock
def test_outbound_calls_carry_the_request_id() -> None:
    route = respx.get("https://api.example/x").mock(return_value=httpx.Response(200))
    with httpx.Client(event_hooks=client_hooks()) as client:
        with correlation("req-abc"):
            client.get("https://api.example/x")
        client.get("https://api.example/x")
    assert route.calls[0].request.headers[HEADER] == "req-abc"
    assert HEADER not in route.calls[1].request.headers
