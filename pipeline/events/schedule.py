"""Which retries the broker carries and which the database does.

A retry due within `RETRY_MESSAGE_MAX_S` gets a countdown message (exact timing); a
later one only its `next_attempt_at`, and beat's sweeper sends it once due
(pipeline.events.schedule_repository finds them): no broker holds a message for
minutes, and a broker restart cannot lose a retry.
"""

from __future__ import annotations

RETRY_MESSAGE_MAX_S = 30.0


def has_retry_message(delay_s: float) -> bool:
    return delay_s <= RETRY_MESSAGE_MAX_S
