"""LIKE/ILIKE patterns from what an operator typed: `%` and `_` are matched literally."""

from __future__ import annotations

ESCAPE = "\\"


def escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def containing(text: str) -> str:
    """A pattern for values that contain `text` (use with `escape=ESCAPE`)."""
    return f"%{escaped(text)}%"
