"""Building and running the gRPC server: the service, standard health checking and
reflection, the observing interceptor, TLS when a certificate is configured."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from loguru import logger
from prometheus_client import start_http_server

from adapters.broker.batching import BatchingPublisher
from grpc_api.observe import ObserveInterceptor
from grpc_api.runtime import GrpcRuntime, build_runtime
from grpc_api.service import PipelineService
from grpc_api.v1 import pipeline_pb2, pipeline_pb2_grpc
from pipeline.redaction import Redactor
from pipeline.settings import Settings

SERVICE = pipeline_pb2.DESCRIPTOR.services_by_name["PipelineService"].full_name
# Calls in flight get this long to finish when the server stops.
GRACE_S = 5.0
# Submitted batches of up to STREAM_MAX events must fit in one call.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


@dataclass
class Running:
    server: grpc.aio.Server
    runtime: GrpcRuntime
    health: health.aio.HealthServicer
    port: int

    async def stop(self, grace: float | None = GRACE_S) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        await self.runtime.close()


def credentials(settings: Settings) -> grpc.ServerCredentials | None:
    if settings.grpc_tls_cert is None and settings.grpc_tls_key is None:
        return None
    if settings.grpc_tls_cert is None or settings.grpc_tls_key is None:
        raise RuntimeError("TLS needs both GRPC_TLS_CERT and GRPC_TLS_KEY")
    pair = (settings.grpc_tls_key.read_bytes(), settings.grpc_tls_cert.read_bytes())
    return grpc.ssl_server_credentials([pair])


async def start(
    settings: Settings,
    *,
    host: str = "0.0.0.0",  # noqa: S104  # a server: its address is the deployment's choice
    port: int | None = None,
    publisher: BatchingPublisher | None = None,
    redactor: Redactor | None = None,
) -> Running:
    """Start serving; port 0 picks a free one (see `Running.port`). `redactor`: the
    process's, shared with its log sinks and Sentry."""
    runtime = build_runtime(settings, publisher, redactor)
    server = grpc.aio.server(
        interceptors=[ObserveInterceptor()],
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
    pipeline_pb2_grpc.add_PipelineServiceServicer_to_server(  # type: ignore[no-untyped-call]
        PipelineService(runtime), server
    )
    checker = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    reflection.enable_server_reflection(
        (SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    address = f"{host}:{settings.grpc_port if port is None else port}"
    tls = credentials(settings)
    bound = server.add_secure_port(address, tls) if tls else server.add_insecure_port(address)
    await server.start()
    for name in ("", SERVICE):
        await checker.set(name, health_pb2.HealthCheckResponse.SERVING)
    logger.info("gRPC API on {}:{} ({})", host, bound, "TLS" if tls else "plaintext")
    return Running(server, runtime, checker, bound)


async def serve(
    settings: Settings, *, host: str, port: int, redactor: Redactor | None = None
) -> None:
    """Run until SIGTERM or SIGINT, then drain calls in flight."""
    if settings.grpc_metrics_port:
        try:
            start_http_server(settings.grpc_metrics_port)
        except OSError as exc:  # metrics are not worth refusing calls for
            logger.warning("no metrics on port {}: {}", settings.grpc_metrics_port, exc)
    running = await start(settings, host=host, port=port, redactor=redactor)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    logger.info("gRPC API stopping")
    await running.stop()
