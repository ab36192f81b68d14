"""The loguru records a block of code writes, for tests that check what was logged."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from loguru import Record  # in loguru's stubs only


@contextmanager
def log_records(level: str = "INFO") -> Iterator[list[Record]]:
    """Every record at `level` or above written inside the block."""
    records: list[Record] = []
    sink = logger.add(lambda message: records.append(message.record), level=level)
    try:
        yield records
    finally:
        logger.remove(sink)
