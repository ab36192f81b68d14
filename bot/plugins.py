"""Bot commands from other packages: entry point group `pipeline.bot_routers`, loaded as
providers and event handlers are (pipeline/plugins.py).

An entry point names a function that returns a new `aiogram.Router` (a router belongs
to one dispatcher, and every worker process builds its own). Its message, callback and
pre-checkout handlers get the same data as the built-in ones: `user`, `lang`, `shop`,
`feedback`, `state`, and `_()`/`t()` speak the user's language. A plugin that fails to
load or to build its router is logged and left out.

    [project.entry-points."pipeline.bot_routers"]
    tracking = "my_shop_plugin.bot:create_router"
"""

from __future__ import annotations

from aiogram import Router
from loguru import logger

from pipeline.plugins import load_entry_points

ENTRY_POINT_GROUP = "pipeline.bot_routers"


def plugin_routers() -> list[Router]:
    routers = []
    for name, factory in load_entry_points(ENTRY_POINT_GROUP):
        try:
            router = factory()
        except Exception as exc:
            logger.error("bot router plugin {} failed: {}", name, exc)
            continue
        if not isinstance(router, Router):
            logger.error("bot router plugin {} gave {!r}, not an aiogram Router", name, router)
            continue
        routers.append(router)
    return routers
