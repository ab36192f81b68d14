"""The hot path: read, verify, enqueue, answer. No database on this path."""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime

from fastapi import Request, Response
from loguru import logger

from adapters.broker.batching import BatchingPublisher
from pipeline.envelope import Envelope
from pipeline.providers.base import (
    Accepted,
    InboundRequest,
    MalformedBody,
    NotConfigured,
    Provider,
    RepliesToRejections,
    WebhookRejected,
)
from pipeline.providers.networks import parse_networks, resolve_client
from pipeline.providers.parsing import digits
from pipeline.settings import Settings
from pipeline.storable import EXTERNAL_ID_MAX, TYPE_MAX, bounded, valid_request_id
from webhooks.connections import open_connections
from webhooks.observe import ProviderMeter

_ID_PREFIX = os.urandom(6).hex()
# Column sizes of events.external_id, events.type and events.request_id.
_id_counter = itertools.count(1)


def next_request_id() -> str:
    """Unique per process start without a syscall per request (uuid4 reads urandom)."""
    return f"{_ID_PREFIX}{next(_id_counter):010x}"


class BodyTooLarge(WebhookRejected):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body exceeds the limit of {limit} bytes", reason="too_large")


class NotEnqueued(Exception):
    """The broker did not accept the message in time: the provider must retry."""


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and digits(declared) and int(declared) > limit:  # "²".isdigit() is true
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def client_ip(request: Request, settings: Settings) -> str | None:
    """The peer address; behind a trusted proxy (the receiver's TRUSTED_PROXIES), the
    client it forwarded for."""
    peer = request.client.host if request.client else None
    if not settings.trusted_proxies:
        return peer
    forwarded = request.headers.get("x-forwarded-for")
    return resolve_client(peer, forwarded, parse_networks(settings.trusted_proxies))


def describe(exc: BaseException) -> str:
    """One line about an exception: its type, message and where it was raised. No
    traceback, so no variable values; the sink masks any secret in the message."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else ""
    message = " ".join(str(exc).split())[:200]  # one line, whatever the text holds
    return f"{type(exc).__name__}: {message}{where}"


def verified(provider: Provider, inbound: InboundRequest) -> Accepted:
    """`provider.accept`, with anything it raises besides a rejection turned into a 400:
    whatever a sender writes, the answer is a 4xx with a message, never a 500."""
    try:
        accepted = provider.accept(inbound)
    except WebhookRejected:
        raise
    except Exception as exc:
        logger.bind(provider=provider.name).warning(  # the path may carry a token
            "unreadable request: {}", describe(exc)
        )
        raise MalformedBody(f"the request could not be read ({type(exc).__name__})") from None
    # The keys are the dedup key: control characters or surrogates in one are garbage, not
    # an id. Over-long keys are shortened with a hash where the envelope is built.
    if not _printable(accepted.external_id):
        raise MalformedBody("the event id must be printable characters")
    if not _printable(accepted.event_type):
        raise MalformedBody("the event type must be printable characters")
    return accepted


def _printable(text: str) -> bool:
    return bool(text) and text.isprintable()  # no NUL, newline or surrogate


def _accept(
    provider: Provider, inbound: InboundRequest, meter: ProviderMeter | None = None
) -> Accepted | Response:
    """Accepted, or the provider's own answer to a rejection (default: raise)."""
    try:
        return verified(provider, inbound)
    except WebhookRejected as exc:
        if meter is not None:
            meter.reject(exc.status)
        if isinstance(exc, NotConfigured) or not isinstance(provider, RepliesToRejections):
            raise
        reply = provider.rejection(inbound, exc)
        if reply is None:
            raise
        logger.bind(provider=inbound.provider, client_ip=inbound.client_ip).info(
            "rejected {} {}: {}", exc.status, exc.reason, exc.detail
        )
        return Response(content=reply.body, status_code=reply.status, media_type=reply.media_type)


async def receive(
    request: Request,
    provider: Provider,
    publisher: BatchingPublisher,
    settings: Settings,
    subpath: str = "",
    meter: ProviderMeter | None = None,
) -> Response:
    received_at = datetime.now(UTC)
    # A client's id is kept only when it is a safe token: it lands in logs and a column.
    request_id = valid_request_id(request.headers.get("x-request-id")) or next_request_id()
    body = await read_body(request, settings.max_body_bytes)
    inbound = InboundRequest(
        provider=provider.name,
        method=request.method,
        path=request.scope["path"],
        body=body,
        headers=request.headers,
        query=request.query_params,
        client_ip=client_ip(request, settings),
        received_at=received_at,
        subpath=subpath,
    )
    request.state.client_ip = inbound.client_ip  # for the rejection's log line, not its body
    accepted = _accept(provider, inbound, meter)
    if isinstance(accepted, Response):
        return accepted
    stored = body if accepted.body is None else accepted.body
    envelope = Envelope(
        provider=provider.name,
        external_id=bounded(accepted.external_id, EXTERNAL_ID_MAX),
        event_type=bounded(accepted.event_type, TYPE_MAX),
        body=stored,
        received_at=received_at,
        headers=dict(accepted.headers),
        request_id=request_id,
    )
    try:
        await publisher.submit(
            envelope.to_message(),
            len(stored),
            settings.enqueue_timeout_s,
            connections=open_connections(request.scope),
        )
    except (TimeoutError, ConnectionError) as exc:
        logger.bind(provider=provider.name, request_id=request_id).warning(
            "not enqueued, answering 503: {}", exc or "timed out"
        )
        raise NotEnqueued(str(exc) or "broker did not answer in time") from exc
    reply = provider.reply(accepted)
    return Response(
        content=reply.body,
        status_code=reply.status,
        media_type=reply.media_type,
        headers={"x-request-id": request_id},
    )
