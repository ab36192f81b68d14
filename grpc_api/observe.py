"""One interceptor around every call: a request id (the caller's `x-request-id` when it is
a safe token), a log line per call, Prometheus counts by method and code with latency,
and Sentry for what no handler expected (the caller sees INTERNAL with the request id)."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from loguru import logger

from pipeline import metrics
from pipeline.sentry import capture
from pipeline.storable import valid_request_id

_PREFIX = os.urandom(6).hex()
_counter = itertools.count(1)
_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("grpc_request_id", default="")

# Health checks are polled constantly: counted, not logged.
QUIET = ("/grpc.health.v1.Health/",)


def request_id_of(_context: object = None) -> str:
    return _request_id.get() or f"{_PREFIX}{next(_counter):010x}"


def _incoming_id(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    for name, value in context.invocation_metadata() or ():
        if name == "x-request-id" and isinstance(value, str):
            found = valid_request_id(value)
            if found:
                return found
    return f"{_PREFIX}{next(_counter):010x}"


def _code(context: grpc.aio.ServicerContext[Any, Any]) -> grpc.StatusCode:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    if isinstance(code, int):
        return next((c for c in grpc.StatusCode if c.value[0] == code), grpc.StatusCode.UNKNOWN)
    return grpc.StatusCode.OK


class Call:
    """The bookkeeping of one call, whatever its shape."""

    def __init__(self, method: str, context: grpc.aio.ServicerContext[Any, Any]) -> None:
        self.method = method
        self.context = context
        self.request_id = _incoming_id(context)
        self.started = time.perf_counter()
        self.token = _request_id.set(self.request_id)
        context.set_trailing_metadata((("x-request-id", self.request_id),))

    async def failed(self, exc: BaseException) -> None:
        """Called from the except clause; re-raises or ends the call with a status."""
        if isinstance(exc, grpc.aio.AbortError):
            self.done(_code(self.context))
            raise exc
        if isinstance(exc, asyncio.CancelledError):
            remaining = self.context.time_remaining()
            late = remaining is not None and remaining <= 0
            self.done(grpc.StatusCode.DEADLINE_EXCEEDED if late else grpc.StatusCode.CANCELLED)
            raise exc
        capture(exc, grpc_method=self.method, request_id=self.request_id)
        logger.opt(exception=exc).error("{} failed", self.method)
        self.done(grpc.StatusCode.INTERNAL)
        await self.context.abort(
            grpc.StatusCode.INTERNAL, f"internal error (request id {self.request_id})"
        )

    def done(self, code: grpc.StatusCode) -> None:
        elapsed = time.perf_counter() - self.started
        metrics.GRPC_CALLS.labels(self.method, code.name).inc()
        metrics.GRPC_LATENCY.labels(self.method).observe(elapsed)
        if not self.method.startswith(QUIET):
            logger.bind(request_id=self.request_id).info(
                "{} {} {:.1f} ms", self.method, code.name, elapsed * 1000
            )
        _request_id.reset(self.token)


Unary = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]
# A streaming handler yields its responses, or writes them with `context.write`.
Streaming = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Any]


def _unary(method: str, behavior: Unary) -> Unary:
    async def observed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        call = Call(method, context)
        with logger.contextualize(request_id=call.request_id):
            try:
                response = await behavior(request, context)
            except BaseException as exc:
                await call.failed(exc)
                raise
            call.done(_code(context))
            return response

    return observed


def _streaming(method: str, behavior: Streaming) -> Streaming:
    async def observed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        call = Call(method, context)
        with logger.contextualize(request_id=call.request_id):
            try:
                produced = behavior(request, context)
                if hasattr(produced, "__aiter__"):
                    async for response in produced:
                        yield response
                else:
                    await produced
            except BaseException as exc:
                await call.failed(exc)
                raise
            call.done(_code(context))

    return observed


class ObserveInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method: str = details.method
        codec = {
            "request_deserializer": handler.request_deserializer,
            "response_serializer": handler.response_serializer,
        }
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(_unary(method, handler.unary_unary), **codec)
        if handler.stream_unary:
            return grpc.stream_unary_rpc_method_handler(
                _unary(method, handler.stream_unary), **codec
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                _streaming(method, handler.unary_stream), **codec
            )
        return grpc.stream_stream_rpc_method_handler(
            _streaming(method, handler.stream_stream), **codec
        )
