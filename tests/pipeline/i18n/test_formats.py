"""Money, numbers and dates as each locale writes them: exactly Babel's CLDR output,
no-break spaces included (plus CLDR's currency spacing, which Babel leaves out)."""

from __future__ import annotations

from datetime import date

from pipeline.i18n import text
from pipeline.i18n.formats import day, money, money_param, number

NBSP, NNBSP = "\u00a0", "\u202f"


def test_roubles_in_russian_and_english() -> None:
    assert money(149000, "RUB", "ru") == f"1{NBSP}490,00{NBSP}₽"
    assert money(149000, "RUB", "en") == f"RUB{NBSP}1,490.00"


def test_other_currencies_and_exponents() -> None:
    assert money(149000, "USD", "en") == "$1,490.00"
    assert money(149000, "USD", "ru") == f"1{NBSP}490,00{NBSP}$"
    assert money(1490, "JPY", "en") == "¥1,490"  # no minor units
    assert money(1500, "KWD", "en") == f"KWD{NBSP}1.500"


def test_stars_are_a_count() -> None:
    assert money(1500, "XTR", "ru") == f"1{NBSP}500 ⭐"
    assert money(1500, "XTR", "en") == "1,500 ⭐"
    assert money(5, "XTR", "en") == "5 ⭐"


def test_numbers_and_dates() -> None:
    assert number(1234567, "ru") == f"1{NBSP}234{NBSP}567"
    assert number(1234567, "en") == "1,234,567"
    assert day(date(2026, 3, 5), "ru") == f"5 мар. 2026{NNBSP}г."
    assert day(date(2026, 3, 5), "en") == "Mar 5, 2026"


def test_a_stored_amount_is_written_in_the_readers_locale() -> None:
    """Outbox rows keep the amount itself; each user reads it in their language."""
    params = {"order": "o-1", "amount": money_param(149000, "RUB")}
    assert text("ru", "payment_received", **params) == (
        f"Оплата заказа o-1 получена: 1{NBSP}490,00{NBSP}₽. Спасибо!"
    )
    assert text("en", "payment_received", **params) == (
        f"Payment for order o-1 received: RUB{NBSP}1,490.00. Thank you!"
    )
    # Rows queued before amounts were kept this way still render as they were.
    assert "1490.00 RUB" in text("en", "payment_received", order="o", amount="1490.00 RUB")
