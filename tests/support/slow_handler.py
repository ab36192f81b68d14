"""A handler for worker-crash tests: announces its process, then takes its time.

Loaded into test workers through HANDLER_MODULES. `SLOW_HANDLER_DIR` receives
`started-<event>` (the pool process id) and, once finished, a line in `done-<event>`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pipeline.events.handlers import HandlerContext, handlers

SLOW_TYPE = "test.slow"


@handlers.handles("stripe", SLOW_TYPE)
def slow(ctx: HandlerContext) -> None:
    folder = Path(os.environ["SLOW_HANDLER_DIR"])
    name = ctx.event.external_id
    (folder / f"started-{name}").write_text(str(os.getpid()))
    time.sleep(float(os.environ.get("SLOW_HANDLER_SECONDS", "3")))
    with (folder / f"done-{name}").open("a") as done:
        done.write(f"{os.getpid()}\n")
