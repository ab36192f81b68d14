"""Ending a call with a status code and, where they help, `google.rpc` details."""

from __future__ import annotations

from typing import NoReturn

import grpc
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from grpc_api.observe import request_id_of

# What a client is told to wait before retrying a submission the broker did not take.
RETRY_AFTER_S = 1


def _status(code: int, message: str, *details: object) -> grpc.Status:
    status = status_pb2.Status(code=code, message=message)
    for detail in details:
        status.details.add().Pack(detail)  # type: ignore[attr-defined]
    return rpc_status.to_status(status)


async def abort_status(
    context: grpc.aio.ServicerContext[object, object], status: grpc.Status
) -> NoReturn:
    """End the call with `status`, its details and the request id in trailing metadata."""
    trailing = (*status.trailing_metadata, ("x-request-id", request_id_of()))
    await context.abort(status.code, status.details, trailing)
    raise AssertionError("abort returned")  # it always raises


def invalid(field: str, description: str) -> grpc.Status:
    violation = error_details_pb2.BadRequest.FieldViolation(field=field, description=description)
    return _status(
        code_pb2.INVALID_ARGUMENT,
        f"{field}: {description}",
        error_details_pb2.BadRequest(field_violations=[violation]),
    )


def unavailable(message: str, retry_after_s: int = RETRY_AFTER_S) -> grpc.Status:
    """The broker did not accept: retry (with the same external ids) after the delay."""
    retry = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=retry_after_s))
    return _status(code_pb2.UNAVAILABLE, message, retry)


def not_found(kind: str, name: str) -> grpc.Status:
    info = error_details_pb2.ResourceInfo(resource_type=kind, resource_name=name)
    return _status(code_pb2.NOT_FOUND, f"no {kind} {name}", info)


def failed_precondition(kind: str, subject: str, description: str) -> grpc.Status:
    violation = error_details_pb2.PreconditionFailure.Violation(
        type=kind, subject=subject, description=description
    )
    return _status(
        code_pb2.FAILED_PRECONDITION,
        description,
        error_details_pb2.PreconditionFailure(violations=[violation]),
    )


def unauthenticated(message: str) -> grpc.Status:
    return _status(code_pb2.UNAUTHENTICATED, message)


def permission_denied(scope: str) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(
        reason="MISSING_SCOPE", domain="pipeline", metadata={"scope": scope}
    )
    return _status(code_pb2.PERMISSION_DENIED, f"the API key lacks the scope {scope}", info)
