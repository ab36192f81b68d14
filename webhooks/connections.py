"""The receiver's HTTP protocol: uvicorn's httptools one, telling the app how many
connections are open.

The batching publisher may hold a broker message a little while the workers are behind
(`adapters.broker.batching`). It ends the hold as soon as every open connection has its
request waiting in that message: over HTTP/1.1 a connection carries one request at a
time, so no further webhook can join it. Only the server knows its connections; this
protocol puts uvicorn's set of them into the lifespan state, of which every request's
`scope["state"]` is a shallow copy, so a request reads the live count.

`pipeline receiver` runs uvicorn with it (`--http webhooks.connections:CountingHttpProtocol`
on uvicorn's command line); under another server the count is unknown and the publisher
never holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sized
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

OPEN_CONNECTIONS = "webhooks.open_connections"
PROTOCOL = "webhooks.connections:CountingHttpProtocol"


class CountingHttpProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # The same set object for every connection of this server process.
        app_state[OPEN_CONNECTIONS] = server_state.connections


def open_connections(scope: Mapping[str, Any]) -> Sized | None:
    """The connections the server holds open (a live set: its length is the count now);
    None when the server does not tell."""
    state = scope.get("state")
    connections: Sized | None = None if state is None else state.get(OPEN_CONNECTIONS)
    return connections
