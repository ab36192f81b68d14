"""What an order accepts, in terms both the worker and the receiver can use.

Which providers an order allows follows from how it was created (`orders.payment_method`):
`telegram` (a card invoice) and `stars` allow Telegram; a provider's name allows that
provider; `any` allows every configured provider (orders created outside the bot for a
payment page that offers several).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

ANY_PROVIDER = "any"
METHOD_PROVIDERS: dict[str, frozenset[str]] = {
    "telegram": frozenset({"telegram"}),
    "stars": frozenset({"telegram"}),
}
# A payment may still settle these; a failed or canceled attempt leaves the order payable.
OPEN = frozenset({"created", "pending", "failed", "canceled"})
SETTLED = frozenset({"paid", "partially_refunded", "refunded"})


def allowed_providers(method: str) -> frozenset[str] | None:
    """The providers whose payments may settle an order paid by `method`; None: any."""
    if method == ANY_PROVIDER:
        return None
    return METHOD_PROVIDERS.get(method, frozenset({method}))


def allows(method: str, provider: str) -> bool:
    allowed = allowed_providers(method)
    return allowed is None or provider in allowed


def expired(created_at: datetime | None, now: datetime | None = None, *, hours: float) -> bool:
    """Past `hours` (the process's ORDER_PAY_WITHIN_H; never when that is 0)."""
    if not hours or created_at is None:
        return False
    return (now or datetime.now(UTC)) - created_at > timedelta(hours=hours)
