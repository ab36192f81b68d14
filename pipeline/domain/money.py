"""Amounts as integers in minor units. Providers send strings, ints and (sadly) floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from pipeline.events.errors import MalformedValue

# ISO 4217 exponents that are not 2, plus Telegram Stars (XTR, whole stars).
_EXPONENTS: dict[str, int] = {
    "XTR": 0,
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}
# Far above any real payment; keeps absurd inputs from becoming huge integers.
MAX_MINOR_UNITS = 10**15
# The highest price a product may have: times any quantity it stays below MAX_MINOR_UNITS,
# and far above 2^31 (the columns are BIGINT).
MAX_PRICE_MINOR = 10**12
# Bounds checked before any arithmetic: `1e999990` is eight characters, and scaling it or
# making an int of it costs seconds of CPU, then overflows the decimal context.
MAX_AMOUNT_TEXT = 64
MAX_INTEGER_DIGITS = 18
MAX_DECIMALS = 30


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def decimal_amount(text: str) -> Decimal:
    """A finite decimal of sane size from an amount's text; MalformedValue otherwise."""
    if len(text) > MAX_AMOUNT_TEXT:
        raise MalformedValue(f"amount is longer than {MAX_AMOUNT_TEXT} characters")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise MalformedValue(f"amount {text!r} is not a number") from None
    if not amount.is_finite():
        raise MalformedValue(f"amount {text!r} is not finite")
    exponent_ = amount.as_tuple().exponent
    assert isinstance(exponent_, int)  # finite
    if not -MAX_DECIMALS <= exponent_ <= MAX_INTEGER_DIGITS or (
        amount and amount.adjusted() >= MAX_INTEGER_DIGITS
    ):
        raise MalformedValue(f"amount {text!r} is out of range")
    return amount


def minor_units(value: object, currency: str) -> int:
    """`"100.50"`, `100.5` or `Decimal("100.5")` RUB -> 10050. Raises MalformedValue (a
    ValueError) when the value is not a finite number or has more decimals than the
    currency allows."""
    if isinstance(value, bool) or value is None:
        raise MalformedValue(f"amount must be a number, got {value!r}")
    if isinstance(value, float):
        # repr gives the shortest text that round-trips: what the provider wrote.
        text = repr(value)
    elif isinstance(value, int | str | Decimal):
        text = str(value).strip()
    else:
        raise MalformedValue(f"amount must be a number, got {type(value).__name__}")
    amount = decimal_amount(text)
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MalformedValue(f"amount {text!r} has more decimals than {currency} allows")
    units = int(scaled)
    if abs(units) > MAX_MINOR_UNITS:
        raise MalformedValue(f"amount {text!r} is out of range")
    return units


def integer_minor_units(value: object, what: str) -> int:
    """An amount a provider sends as an integer in minor units (T-Bank's kopecks, Stripe's
    cents, Telegram's total_amount): 0 to MAX_MINOR_UNITS. MalformedValue says which rule
    the value broke."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedValue(f"{what} must be an integer in minor units, got {_shown(value)}")
    if value < 0:
        raise MalformedValue(f"{what} must not be negative, got {value}")
    if value > MAX_MINOR_UNITS:
        digits = len(str(value))
        raise MalformedValue(f"{what} is above {MAX_MINOR_UNITS} minor units ({digits} digits)")
    return value


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{type(value).__name__} of {len(text)} characters"
