"""Load test of the webhook routes with valid, signed payloads.

    locust -f locustfile.py --host http://127.0.0.1:8000 --headless -u 50 -r 10 -t 1m

Secrets come from the same variables as the receiver's (the first value of a list).
Every request carries a new dedup key, so each one is a new event. A provider is
driven only when its secret is set; LOAD_PROVIDERS=telegram,stripe narrows the set.
Add a provider with a builder that returns (path, body, headers) and an entry in BUILDERS.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import random
import time
import uuid
from collections.abc import Callable

from locust import FastHttpUser, between, task

Request = tuple[str, bytes, dict[str, str]]
_counter = itertools.count(int(time.time() * 1000) % 10**9)


def first_secret(name: str) -> str:
    return os.environ.get(name, "").split(",")[0].strip()


def telegram_request() -> Request:
    update_id = next(_counter)
    chat_id = random.randint(1, 10_000)
    body = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Load"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Load"},
            "text": "/start",
        },
    }
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": first_secret("TELEGRAM_WEBHOOK_SECRET"),
    }
    return "/webhooks/telegram", json.dumps(body).encode(), headers


def stripe_request() -> Request:
    event = {
        "id": f"evt_load_{uuid.uuid4().hex}",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": {"id": f"pi_{uuid.uuid4().hex[:24]}", "object": "payment_intent",
                            "amount": 1990, "currency": "eur", "status": "succeeded"}},
    }  # fmt: skip
    body = json.dumps(event).encode()
    timestamp = int(time.time())
    secret = first_secret("STRIPE_WEBHOOK_SECRET").encode()
    signature = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "Stripe-Signature": f"t={timestamp},v1={signature}",
    }
    return "/webhooks/stripe", body, headers


# provider -> (the variable holding its secret, the request builder)
BUILDERS: dict[str, tuple[str, Callable[[], Request]]] = {
    "telegram": ("TELEGRAM_WEBHOOK_SECRET", telegram_request),
    "stripe": ("STRIPE_WEBHOOK_SECRET", stripe_request),
}


def enabled_providers() -> list[str]:
    wanted = [p.strip() for p in os.environ.get("LOAD_PROVIDERS", "").split(",") if p.strip()]
    unknown = set(wanted) - set(BUILDERS)
    if unknown:
        raise SystemExit(f"LOAD_PROVIDERS names unknown providers: {sorted(unknown)}")
    names = wanted or list(BUILDERS)
    chosen = [name for name in names if first_secret(BUILDERS[name][0])]
    if not chosen:
        raise SystemExit(
            "set the webhook secret of at least one provider, e.g. STRIPE_WEBHOOK_SECRET"
        )
    return chosen


class WebhookSender(FastHttpUser):
    """One provider's delivery system: posts a signed webhook, expects a 2xx."""

    wait_time = between(0.0, 0.05)

    def on_start(self) -> None:
        self.providers = enabled_providers()

    @task
    def post_webhook(self) -> None:
        provider = random.choice(self.providers)
        path, body, headers = BUILDERS[provider][1]()
        # The bodies are ASCII JSON: the text sent is exactly the bytes signed.
        with self.client.post(
            path,
            data=body.decode(),
            headers=headers,
            name=f"/webhooks/{provider}",
            catch_response=True,
        ) as response:
            if not 200 <= response.status_code < 300:
                response.failure(f"{response.status_code}: {response.text[:200]}")
