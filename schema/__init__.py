"""SQLAlchemy models: one aggregate a module, all on `schema.base.Base`."""

from schema.base import Base
from schema.events import TERMINAL_STATUSES, Event, EventStatus

__all__ = ["TERMINAL_STATUSES", "Base", "Event", "EventStatus"]
