"""The storable rules: request ids, bounded columns, NUL and lone surrogates."""

from __future__ import annotations

import pytest

from pipeline.storable import bounded, storable_json, storable_text, valid_request_id


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("abc-DEF_1.2", True),
        ("r" * 64, True),
        ("r" * 65, False),
        ("", False),
        ("a b", False),
        ("id\x00", False),
        ("ид", False),
        ("../x;y", False),
    ],
)
def test_request_id_is_kept_only_when_a_safe_token(value: str, kept: bool) -> None:
    assert (valid_request_id(value) == value) is kept


def test_bounded_keeps_short_values_and_hashes_long_ones_apart() -> None:
    assert bounded("evt_1", 255) == "evt_1"
    first, second = bounded("x" * 300 + "1", 255), bounded("x" * 300 + "2", 255)
    assert len(first) == len(second) == 255 and first != second
    assert first.startswith("x" * 238) and first[238] == "~"
    assert bounded("x" * 300 + "1", 255) == first  # the same id, the same key


def test_nul_and_lone_surrogates_become_escape_text() -> None:
    assert storable_text("a\x00b\ud800c") == "a\\u0000b\\ud800c"
    assert storable_text("обычный текст") == "обычный текст"
    payload = {"k\x00": ["x\x00", {"n": 1, "s": "\udfff"}], "ok": True}
    assert storable_json(payload) == {
        "k\\u0000": ["x\\u0000", {"n": 1, "s": "\\udfff"}],
        "ok": True,
    }
    clean = {"a": "b", "n": [1, 2.5, None]}
    assert storable_json(clean) is clean  # nothing to change: the same object
