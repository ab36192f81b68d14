"""Personal data taken out of any text before it leaves for an AI provider.

Patterns, not a model: they err on the side of redacting (a long number that is not a
phone is still hidden). The placeholders tell the model what kind of thing was there.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 13-19 digits in groups: a card number.
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# A short card fragment named as such: "card ending 4242", "карта *4242", "**** 4242".
CARD_FRAGMENT = re.compile(r"(?i)(?:(?:card|карт\w*|visa|mastercard|мир)\D{0,20}|\*{2,}\s?)\d{4}\b")
# Phones: +7 999 123-45-67, 8 (999) 123 45 67, +44 20 7946 0958 ...
PHONE = re.compile(r"(?<![\w-])\+?\d[\d ()\-]{8,}\d(?!\d)")
# Addresses: a street word followed by its name and a house number, in ru or en.
ADDRESS = re.compile(
    r"(?i)(?:\b(?:ул|улица|пр-т|проспект|пер|переулок|ш|шоссе|бульвар|б-р|наб)\.?\s+"
    r"[\w\- .]{2,40}?,?\s*(?:д\.?|дом)?\s*\d+\w*(?:\s*,?\s*(?:кв|к|корп|стр)\.?\s*\d+)*"
    r"|\b\d+\w?\s+(?:[A-Z][\w\-]*\s+){1,3}(?:street|st|avenue|ave|road|rd|lane|ln|"
    r"boulevard|blvd|drive|dr)\b\.?(?:,?\s*(?:apt|flat|unit)\.?\s*\d+)?)"
)

PLACEHOLDERS = (
    (EMAIL, "[email]"),
    (CARD, "[card]"),
    (CARD_FRAGMENT, "[card]"),
    (ADDRESS, "[address]"),
)


def _phone(match: re.Match[str]) -> str:
    # Ten digits and more: a phone; fewer (a date, an amount) stay.
    digits = sum(ch.isdigit() for ch in match.group())
    return "[phone]" if digits >= 10 else match.group()


def redact(text: str) -> str:
    for pattern, placeholder in PLACEHOLDERS:
        text = pattern.sub(placeholder, text)
    return PHONE.sub(_phone, text)
