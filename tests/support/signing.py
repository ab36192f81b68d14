"""Signed requests as the providers send them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

STRIPE_SECRET = "whsec_test_secret"
TELEGRAM_SECRET = "tg-secret-1"


def stripe_event(
    event_id: str,
    event_type: str = "payment_intent.succeeded",
    intent_id: str = "pi_3MtwBwLkdIwHu7ix28a3tqPa",
    **extra: Any,
) -> bytes:
    event = {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "type": event_type,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "amount": 2000,
                "amount_received": 2000,
                "currency": "usd",
                "status": "succeeded",
                "metadata": {"order_id": "42"},
            }
        },
    }
    event.update(extra)
    return json.dumps(event).encode()


def stripe_headers(
    body: bytes, secret: str = STRIPE_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    t = int(time.time()) if timestamp is None else timestamp
    sig = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},v1={sig}", "Content-Type": "application/json"}


def telegram_update(update_id: int, text: str = "/start", chat_id: int = 1001) -> bytes:
    update = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Ann"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ann", "language_code": "en"},
            "text": text,
        },
    }
    return json.dumps(update).encode()


def telegram_headers(secret: str = TELEGRAM_SECRET) -> dict[str, str]:
    return {"X-Telegram-Bot-Api-Secret-Token": secret, "Content-Type": "application/json"}
