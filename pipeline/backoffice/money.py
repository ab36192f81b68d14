"""Amounts as the console shows them: Stars by name (browsers without an emoji font draw
the buyer-facing ⭐ as a box)."""

from __future__ import annotations

from pipeline.notifications.announce import format_amount


def money(minor: int, currency: str) -> str:
    if currency == "XTR":
        return f"{minor} Stars"
    return format_amount(minor, currency)
