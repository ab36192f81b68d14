"""What each CloudPayments notification kind must say, so a signed body of one kind
cannot be replayed to another kind's URL.

The HMAC covers the body, not the URL: without these rules a signed Fail notification
posted to `/pay` would read as a payment. Each kind's body carries what only that kind
has (CloudPayments' notification reference): a Pay a success status, a Fail a reason,
a Refund the refunded payment's transaction id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.providers.base import MalformedBody
from pipeline.providers.parsing import text_field

PAY_STATUSES = frozenset({"Completed", "Authorized"})
CONFIRM_STATUSES = frozenset({"Completed"})


def _field(fields: Mapping[str, Any], name: str) -> str:
    return text_field(fields, name, required=False)


def _refuse(kind: str, why: str) -> MalformedBody:
    return MalformedBody(f"not a {kind} notification: {why}")


def require_kind_matches(kind: str, fields: Mapping[str, Any]) -> None:
    """400 unless the signed body is a notification of `kind`."""
    status = _field(fields, "Status")
    if kind == "pay" and status not in PAY_STATUSES:
        raise _refuse(kind, f"Status {status or 'missing'}, expected Completed or Authorized")
    if kind == "confirm" and status not in CONFIRM_STATUSES:
        raise _refuse(kind, f"Status {status or 'missing'}, expected Completed")
    if kind == "fail":
        if not (_field(fields, "Reason") or _field(fields, "ReasonCode")):
            raise _refuse(kind, "no Reason / ReasonCode")
        if status in PAY_STATUSES:
            raise _refuse(kind, f"Status {status} is a success")
    if kind == "refund":
        if not _field(fields, "PaymentTransactionId").isdigit():
            raise _refuse(kind, "no PaymentTransactionId")
        if _field(fields, "OperationType") not in {"", "Refund"}:
            raise _refuse(kind, "OperationType is not Refund")
    if kind == "cancel" and (status or _field(fields, "OperationType")):
        # Documented Cancel bodies carry neither: a Check, Pay or Fail body does.
        raise _refuse(kind, "a Status or OperationType belongs to another kind")
