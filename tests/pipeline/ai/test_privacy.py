"""Personal data is replaced before text leaves for an AI provider; ordinary figures stay."""

from __future__ import annotations

import pytest

from pipeline.ai.privacy import redact


@pytest.mark.parametrize(
    ("text", "hidden", "placeholder"),
    [
        ("call me at +7 (999) 123-45-67 please", "123-45-67", "[phone]"),
        ("мой номер 8 999 123 45 67", "999 123 45 67", "[phone]"),
        ("write to ann.smith+shop@example.co.uk", "example.co.uk", "[email]"),
        ("card 4242 4242 4242 4242 was charged", "4242 4242 4242", "[card]"),
        ("списали с карты *1234 дважды", "1234", "[card]"),
        ("paid with visa ending 9876", "9876", "[card]"),
        ("доставьте на ул. Ленина, д. 5, кв. 12", "Ленина", "[address]"),
        ("ship to 221B Baker Street, apt 4", "Baker", "[address]"),
    ],
)
def test_personal_data_is_redacted(text: str, hidden: str, placeholder: str) -> None:
    out = redact(text)
    assert hidden not in out and placeholder in out


def test_ordinary_figures_and_order_ids_stay() -> None:
    text = "Order o-123456789012 of 2026-12-01: 2 mugs, 590.00 RUB, 3 to 5 days"
    assert redact(text) == text
