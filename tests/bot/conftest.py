"""The aiogram harness's fixtures (tests/bot/harness.py) for every bot test."""

from tests.bot.harness import bot_settings, harness

__all__ = ["bot_settings", "harness"]
