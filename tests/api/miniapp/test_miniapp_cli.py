"""`pipeline telegram setup|info` against the fake Bot API, and `pipeline miniapp dev-link`."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from api.miniapp.initdata import Verifier, verify
from cli import app
from scripts.fakes.bot_api import FakeBotApiThread
from tests.api.miniapp.miniapp_support import TOKEN, bot_api

__all__ = ["bot_api"]  # the fixture, for pytest
runner = CliRunner()


def test_setup_then_info(bot_api: FakeBotApiThread, api_env: pytest.MonkeyPatch) -> None:
    api_env.setenv("PUBLIC_BASE_URL", "https://shop.example")
    api_env.setenv("TELEGRAM_WEBHOOK_SECRET", "s3cret")
    done = runner.invoke(app, ["telegram", "setup"])
    assert done.exit_code == 0, done.output
    assert "menu button: Mini App https://shop.example/app/" in done.output
    (hook,) = bot_api.sent("setWebhook")
    assert hook["url"] == "https://shop.example/webhooks/telegram"
    assert hook["secret_token"] == "s3cret"
    commands = bot_api.sent("setMyCommands")
    assert {c.get("language_code") for c in commands} == {"en", "ru", None}
    assert {c.get("language_code") for c in bot_api.sent("setMyDescription")} == {"en", "ru", None}
    shown = runner.invoke(app, ["telegram", "info"])
    assert shown.exit_code == 0, shown.output
    found = json.loads(shown.output)
    assert found["webhook"]["url"] == "https://shop.example/webhooks/telegram"
    assert found["menu_button"]["web_app"] == {"url": "https://shop.example/app/"}
    assert found["me"]["is_bot"] is True
    assert "s3cret" not in shown.output + done.output


def test_setup_without_https_keeps_the_command_menu(
    bot_api: FakeBotApiThread, api_env: pytest.MonkeyPatch
) -> None:
    api_env.setenv("PUBLIC_BASE_URL", "http://localhost:8000")
    done = runner.invoke(app, ["telegram", "setup"])
    assert done.exit_code == 0, done.output
    assert bot_api.sent("setChatMenuButton") == [{"menu_button": {"type": "commands"}}]


def test_an_http_address_outside_localhost_is_refused(
    bot_api: FakeBotApiThread, api_env: pytest.MonkeyPatch
) -> None:
    api_env.setenv("MINIAPP_URL", "http://shop.example/app/")
    done = runner.invoke(app, ["telegram", "setup"])
    assert done.exit_code == 1 and "must be https://" in done.output
    link = runner.invoke(app, ["miniapp", "dev-link", "--user-id", "5"])
    assert link.exit_code == 2 and "must be https://" in link.output


def test_dev_link_carries_signed_init_data(
    bot_api: FakeBotApiThread, api_env: pytest.MonkeyPatch
) -> None:
    api_env.setenv("PUBLIC_BASE_URL", "http://localhost:8000")
    done = runner.invoke(app, ["miniapp", "dev-link", "--user-id", "77", "--language", "ru"])
    assert done.exit_code == 0, done.output
    url = urlsplit(done.output.strip())
    assert (url.scheme, url.netloc, url.path) == ("http", "localhost:8000", "/app/")
    (init_data,) = parse_qs(url.fragment)["tgWebAppData"]
    user = verify(init_data, Verifier(bot_token=TOKEN), 60)
    assert (user.id, user.language_code) == (77, "ru")
