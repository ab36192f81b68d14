"""One settings object for the whole pipeline, read from the environment and `.env`.

Provider-specific settings live beside each provider (see `pipeline.providers`), so a
third-party provider brings its own without touching this file.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_FILE = ".env"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore")

    # Infrastructure. Empty URLs mean "use the embedded servers in DATA_DIR".
    database_url: str | None = None
    broker_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path("var")

    # Prefix for every queue and exchange name, so pipelines can share one broker
    # (read straight from the environment by pipeline.messaging.queues).
    queue_prefix: str = ""

    # Receiver.
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    enqueue_timeout_s: float = Field(2.0, gt=0)
    publish_batch_max: int = Field(200, ge=1)
    # Reverse proxies whose X-Forwarded-For is believed (comma-separated networks).
    # Empty: the client address is the peer of the connection, always.
    trusted_proxies: str = ""

    # Telegram (the bot itself and its webhook).
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    # Payment provider token from @BotFather for invoices in money (empty: Stars only).
    telegram_payment_provider_token: SecretStr | None = None
    # Where /feedback messages go (operators' chat) and where alerts go.
    operator_chat_id: int | None = None
    alert_chat_id: int | None = None
    # Outbound limits shared by all workers (Telegram: ~30/s overall, 1/s per chat,
    # 20/min per group).
    telegram_global_rate: float = Field(30.0, gt=0)
    telegram_chat_rate: float = Field(1.0, gt=0)
    telegram_group_rate_per_min: float = Field(20.0, gt=0)
    # Anti-flood per user: messages per second (with a small burst) and feedback per hour.
    throttle_messages_per_s: float = Field(1.0, gt=0)
    throttle_burst: int = Field(3, ge=1)
    throttle_feedback_per_hour: int = Field(5, ge=1)
    # Language for users whose Telegram language is neither ru nor en.
    default_language: Literal["ru", "en"] = "en"

    # Business flow.
    # Cash register for 54-FZ receipts: "atol" or empty (no receipts).
    fiscal_register: str = ""
    # Public URL of the receiver, for callbacks (ATOL callback_url, YooKassa return_url).
    public_base_url: str = "http://localhost:8000"
    # Receipts still waiting this long are polled from the register.
    receipt_poll_after_s: int = Field(300, ge=1)
    # Payments pending this long are re-fetched from the provider.
    reconcile_pending_after_s: int = Field(900, ge=1)

    # Processing and retries of events.
    event_max_attempts: int = Field(8, ge=1)
    event_retry_base_s: float = Field(2.0, gt=0)
    event_retry_max_s: float = Field(600.0, gt=0)
    # Extra handler modules to import in workers (comma-separated dotted paths).
    handler_modules: str = ""

    # Celery.
    worker_concurrency: int | None = None
    broker_visibility_timeout_s: int = 3600

    # Logging.
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part, strict=False)  # ValueError names the bad entry
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def secret_values(secret: SecretStr | None) -> list[str]:
    """Every current value of a secret: comma-separated lists allow rotation."""
    if secret is None:
        return []
    return _split_secret(secret.get_secret_value())


@lru_cache(maxsize=64)
def _split_secret(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]
