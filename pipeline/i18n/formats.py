"""Money, numbers and dates as the user's locale writes them (CLDR data through Babel)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from pipeline.domain.money import exponent

STARS = "XTR"  # Telegram Stars: no ISO currency, written as a count of ⭐
NBSP = "\u00a0"
# CLDR's currencySpacing, which Babel leaves out: a currency written in letters ("RUB")
# is parted from the digits by a no-break space ("RUB 1,490.00", as ICU writes it).
_LETTERS_THEN_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)")
_DIGIT_THEN_LETTERS = re.compile(r"(?<=\d)(?=[^\W\d_])")


def money(minor: int, currency: str, lang: str) -> str:
    """`1 490,00 ₽` in ru, `RUB 1,490.00` in en (no-break spaces), `5 ⭐` for Stars
    (the count in the locale's digits; a plain space before the star, as always)."""
    if currency == STARS:
        return f"{number(minor, lang)} ⭐"
    amount = Decimal(minor).scaleb(-exponent(currency))
    written = format_currency(amount, currency, locale=lang)
    return _DIGIT_THEN_LETTERS.sub(NBSP, _LETTERS_THEN_DIGIT.sub(NBSP, written))


def number(value: int | Decimal, lang: str) -> str:
    return format_decimal(value, locale=lang)


def day(value: date | datetime, lang: str) -> str:
    """A date in the locale's medium form: `5 мар. 2026 г.`, `Mar 5, 2026`."""
    return format_date(value, format="medium", locale=lang)


def money_param(minor: int, currency: str) -> dict[str, Any]:
    """An amount kept in a notification's params, written in the reader's locale when the
    message is rendered (`pipeline.i18n.text`)."""
    return {"minor": minor, "currency": currency}


def localize_param(value: Any, lang: str) -> Any:
    if isinstance(value, dict) and set(value) == {"minor", "currency"}:
        return money(int(value["minor"]), str(value["currency"]), lang)
    return value
