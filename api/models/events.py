"""Response and request bodies of the events resource."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schema.events import EventStatus


class EventSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(examples=[1042])
    source: str = Field(examples=["stripe"])
    type: str = Field(examples=["payment_intent.succeeded"])
    external_id: str = Field(examples=["evt_3PqZ"])
    status: EventStatus
    attempts: int
    received_at: datetime
    processed_at: datetime | None
    last_error: str | None
    cursor: int | None = Field(
        None, validation_alias="updated_seq", description="Live-update cursor of its status"
    )


class EventPage(BaseModel):
    items: list[EventSummary]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` for the next (older) page; null on the last page."
    )


class Attempt(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt: int
    outcome: str = Field(examples=["failed"])
    error: str
    at: datetime


class EventDetail(EventSummary):
    duplicates: int
    request_id: str | None
    stored_at: datetime
    next_attempt_at: datetime | None
    headers: dict[str, str]
    payload: dict[str, Any] | None
    attempt_history: list[Attempt] = Field(description="Failed attempts, replays, oldest first")


class RetryStatus(StrEnum):
    dead = "dead"
    failed = "failed"


class RetryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: RetryStatus = Field(examples=["dead"])
    source: str | None = Field(None, max_length=64, examples=["stripe"])
    since: datetime | None = None
    until: datetime | None = None
    dry_run: bool = Field(False, description="Only count what would be retried.")


class RetryResult(BaseModel):
    matched: int = Field(description="Events the filter selects now.")
    queued: int = Field(description="Events reset and queued (0 on a dry run).")
    dry_run: bool


class Replayed(BaseModel):
    id: int
    status: EventStatus = Field(examples=["received"])
