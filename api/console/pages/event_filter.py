"""The events list's filter as the console's forms and links carry it (query strings of
plain strings), read leniently: a bad value is reported beside the form, not a 422."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from pipeline.events.filter_repository import EventFilter
from pipeline.events.repository import Selection
from schema.events import EventStatus

RANGES = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
RANGE_LABELS = {"": "Any time", "1h": "Last hour", "24h": "Last 24 hours", "7d": "Last 7 days"}
RETRYABLE = (EventStatus.DEAD.value, EventStatus.FAILED.value)
FIELDS = ("source", "type", "status", "range", "since", "until", "external_id", "q")
LIMITS = {"source": 64, "type": 128, "external_id": 255, "q": 200}


@dataclass
class ListFilter:
    values: dict[str, str]  # as typed, for the form and links
    since: datetime | None = None
    until: datetime | None = None
    errors: list[str] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        return self.values.get(name) or None

    def query(self) -> EventFilter:
        return EventFilter(
            source=self.get("source"),
            type=self.get("type"),
            status=self.get("status"),
            since=self.since,
            until=self.until,
            external_id=self.get("external_id"),
            text=self.get("q"),
        )

    def selection(self) -> Selection | None:
        """The bulk-retry selection of this filter: dead or failed events only."""
        status = self.get("status")
        if status not in RETRYABLE:
            return None
        return Selection(
            (status,),
            source=self.get("source"),
            since=self.since,
            until=self.until,
            type=self.get("type"),
            external_id=self.get("external_id"),
            text=self.get("q"),
        )

    def params(self) -> dict[str, str]:
        return {k: v for k, v in self.values.items() if v}

    def querystring(self, **extra: str) -> str:
        return urlencode({**self.params(), **extra})


def _moment(value: str, name: str, errors: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        errors.append(f"{name} is not a date and time (YYYY-MM-DDTHH:MM, UTC)")
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def parse(given: Mapping[str, str], now: datetime | None = None) -> ListFilter:
    values = {name: (given.get(name) or "").strip() for name in FIELDS}
    errors: list[str] = []
    for name, limit in LIMITS.items():
        if len(values[name]) > limit:
            errors.append(f"{name} is longer than {limit} characters")
            values[name] = ""
    if values["status"] and values["status"] not in {s.value for s in EventStatus}:
        errors.append(f"unknown status {values['status']!r}")
        values["status"] = ""
    if values["q"] and len(values["q"]) < 2:
        errors.append("search text needs at least 2 characters")
        values["q"] = ""
    if values["range"] and values["range"] not in RANGES:
        values["range"] = ""
    since = _moment(values["since"], "since", errors)
    until = _moment(values["until"], "until", errors)
    if values["range"]:
        since = (now or datetime.now(UTC)) - RANGES[values["range"]]
    return ListFilter(values, since, until, errors)
