"""A small synchronous Bot API client for workers and the CLI (the bot itself uses
aiogram). `TELEGRAM_API_BASE` points it at a local Bot API server or the fake."""

from __future__ import annotations

from typing import Any

import httpx
from loguru import logger

from pipeline.settings import Settings


class TelegramError(Exception):
    def __init__(self, code: int, description: str, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after

    @property
    def blocked(self) -> bool:
        """The user blocked the bot or deleted the account: stop writing to them."""
        return self.code == 403

    @property
    def chat_gone(self) -> bool:
        return self.code == 400 and "chat not found" in self.description.lower()

    @property
    def retryable(self) -> bool:
        return self.code == 429 or self.code >= 500


class NoBotToken(RuntimeError):
    def __init__(self) -> None:
        super().__init__("TELEGRAM_BOT_TOKEN is not set")


def has_bot_token(settings: Settings) -> bool:
    token = settings.telegram_bot_token
    return token is not None and bool(token.get_secret_value())


class TokenGate:
    """Telegram-bound work (notifications, alerts, the bot's updates) stays queued while no
    token is set, with one warning per process: a worker's runtime holds one gate."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._warned = False

    def waiting(self) -> bool:
        if has_bot_token(self.settings):
            return False
        if not self._warned:
            self._warned = True
            logger.warning(
                "TELEGRAM_BOT_TOKEN is not set: notifications, alerts and bot updates wait "
                "until it is (then restart the workers)"
            )
        return True

    def api_or_wait(self) -> BotApi | None:
        """The client, or None while no token is set."""
        return None if self.waiting() else BotApi(self.settings)


class BotApi:
    def __init__(self, settings: Settings, client: httpx.Client | None = None):
        if settings.telegram_bot_token is None or not has_bot_token(settings):
            raise NoBotToken()
        token = settings.telegram_bot_token.get_secret_value()
        self._base = f"{settings.telegram_api_base.rstrip('/')}/bot{token}"
        self.client = client or httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0))

    def call(self, method: str, **params: Any) -> Any:
        body = {k: v for k, v in params.items() if v is not None}
        try:
            response = self.client.post(f"{self._base}/{method}", json=body)
        except httpx.TransportError as exc:
            # The URL holds the token: never let it into the message.
            raise TelegramError(599, f"network error: {type(exc).__name__}") from None
        try:
            answer = response.json()
        except ValueError:
            raise TelegramError(response.status_code, "the answer is not JSON") from None
        if answer.get("ok"):
            return answer.get("result")
        parameters = answer.get("parameters") or {}
        raise TelegramError(
            int(answer.get("error_code") or response.status_code),
            str(answer.get("description", "")),
            parameters.get("retry_after"),
        )

    def send_message(self, chat_id: int, text: str, **extra: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.call("sendMessage", chat_id=chat_id, text=text, **extra)
        return result


class BotApiOnDemand:
    """A BotApi made at the first call: work that only may need the bot (a refund that is
    a Stars refund for one payment, a CloudPayments one for another) runs without a token,
    and only a call that does need it fails, with NoBotToken."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._api: BotApi | None = None

    def call(self, method: str, **params: Any) -> Any:
        if self._api is None:
            self._api = BotApi(self._settings)
        return self._api.call(method, **params)
