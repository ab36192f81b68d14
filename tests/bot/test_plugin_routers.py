"""Bot commands from another package: entry point group `pipeline.bot_routers`, from a
distribution installed beside the pipeline (its .dist-info on sys.path)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from bot.factory import create_dispatcher
from bot.plugins import ENTRY_POINT_GROUP
from pipeline.deps import Deps
from tests.bot.harness import BotHarness, message

PLUGIN = """
from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _


def create_router() -> Router:
    router = Router(name="ping")

    async def ping(message: Message, lang: str, user, shop) -> None:
        products = len(shop.on_sale())
        await message.answer(f"pong {lang} {user.telegram_id} {products} " + _("paid"))

    router.message.register(ping, Command("ping"))
    return router


def not_a_router() -> str:
    return "nope"
"""


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    (tmp_path / "pipeline_ping_plugin.py").write_text(PLUGIN)
    info = tmp_path / "pipeline_ping_plugin-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pipeline-ping-plugin\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n"
        "ping = pipeline_ping_plugin:create_router\n"
        "missing = pipeline_no_such_module:create_router\n"
        "wrong = pipeline_ping_plugin:not_a_router\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    errors: list[str] = []
    sink = logger.add(lambda m: errors.append(str(m)), level="ERROR")
    yield errors
    logger.remove(sink)
    sys.modules.pop("pipeline_ping_plugin", None)


@pytest.mark.asyncio
async def test_a_plugin_command_is_served_with_the_bots_services(
    harness: BotHarness, installed: list[str]
) -> None:
    dp = create_dispatcher(harness.db, None, harness.storage, deps=Deps.build())
    await harness.feed(message(1, 950, "/ping", "ru"), message(2, 951, "/ping", "en"), dp=dp)
    assert harness.api.texts() == ["pong ru 950 0 оплачен", "pong en 951 0 paid"]
    # The broken entry points are reported and left out; the bot still runs.
    assert any("missing" in e for e in installed)
    assert any("wrong" in e and "not an aiogram Router" in e for e in installed)


@pytest.mark.asyncio
async def test_without_the_plugin_the_command_is_not_there(harness: BotHarness) -> None:
    await harness.feed(message(1, 952, "/ping", "en"))
    assert harness.api.texts() == []
