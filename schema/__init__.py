"""SQLAlchemy models: one aggregate a module, all on `schema.base.Base`."""

from schema.base import Base
from schema.cart import CartItem
from schema.catalog import Product
from schema.events import TERMINAL_STATUSES, Event, EventStatus
from schema.knowledge import AiCall, KnowledgeEntry
from schema.messaging import Broadcast, FeedbackMessage, Notification
from schema.operations import Alert, BackupRun, EventAttempt
from schema.orders import Order, Payment, Receipt
from schema.staff import ApiKey, ConsoleSession, LoginCode, RefreshToken, StaffSession, StaffUser
from schema.telegram import TelegramUpdate
from schema.users import User

__all__ = [
    "TERMINAL_STATUSES",
    "AiCall",
    "Alert",
    "ApiKey",
    "BackupRun",
    "Base",
    "Broadcast",
    "CartItem",
    "ConsoleSession",
    "Event",
    "EventAttempt",
    "EventStatus",
    "FeedbackMessage",
    "KnowledgeEntry",
    "LoginCode",
    "Notification",
    "Order",
    "Payment",
    "Product",
    "Receipt",
    "RefreshToken",
    "StaffSession",
    "StaffUser",
    "TelegramUpdate",
    "User",
]
