"""Entry-point plugins: providers (`pipeline.providers`), event handlers
(`pipeline.handlers`) and bot routers (`pipeline.bot_routers`) load the same way.

A plugin that fails to import is logged and left out: one broken package must not take
the receiver, the workers or the bot down.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

from loguru import logger


def load_entry_points(group: str) -> Iterator[tuple[str, Any]]:
    """(name, loaded object) of each entry point of the group that loads."""
    for ep in entry_points(group=group):
        try:
            loaded = ep.load()
        except Exception as exc:
            logger.error("plugin {} of {} failed to load: {}", ep.name, group, exc)
            continue
        yield ep.name, loaded
