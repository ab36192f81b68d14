"""A handler for the poison-event scenario: fails every time until the test cures it.

Loaded into test workers through HANDLER_MODULES. Each attempt adds a line to
`tried-<event>` in `POISON_HANDLER_DIR`; the file `cured-<event>` there makes it succeed.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.events.handlers import HandlerContext, handlers

POISON_TYPE = "test.poison"


@handlers.handles("stripe", POISON_TYPE)
def poison(ctx: HandlerContext) -> None:
    folder = Path(os.environ["POISON_HANDLER_DIR"])
    name = ctx.event.external_id
    with (folder / f"tried-{name}").open("a") as tried:
        tried.write(f"{os.getpid()}\n")
    if not (folder / f"cured-{name}").exists():
        raise RuntimeError("poison: this event fails every time")
