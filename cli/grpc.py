"""`pipeline grpc`: the gRPC API, loaded by name so that the CLI does not import the
`grpc_api` edge."""

from __future__ import annotations

import asyncio
from importlib import import_module
from pathlib import Path

import typer

from cli.common import DataDirOption, prepare
from pipeline.redaction import Redactor
from pipeline.sentry import init_sentry
from pipeline.settings import get_settings


def grpc(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int | None = typer.Option(None, help="Port to listen on (default: GRPC_PORT)."),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Run the gRPC API (pipeline.v1.PipelineService, health, reflection)."""
    redactor = Redactor()  # the process's: log sinks, Sentry and the runtime share it
    services = prepare("grpc", data_dir, redactor=redactor)
    init_sentry(get_settings(), "grpc", redactor)
    server = import_module("grpc_api.server")
    try:
        settings = get_settings()
        chosen = settings.grpc_port if port is None else port
        asyncio.run(server.serve(settings, host=host, port=chosen, redactor=redactor))
    finally:
        services.stop_started()
