"""One settings object for the whole pipeline, read from the environment and `.env`.

Provider-specific settings live beside each provider (see `pipeline.providers`), so a
third-party provider brings its own without touching this file.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from pipeline.redaction import HasSecrets

ENV_FILE = ".env"


class OAuthProvider(BaseModel):
    """One OAuth2/OIDC login provider. `google`, `github` and `yandex` are presets: only
    the client id and secret are needed; any other name needs its discovery URL."""

    client_id: str
    client_secret: SecretStr
    discovery_url: str | None = None
    scope: str | None = None
    title: str | None = None
    # Endpoints of plain OAuth2 providers (presets set them; also to point one elsewhere).
    authorize_url: str | None = None
    token_url: str | None = None
    userinfo_url: str | None = None


class Settings(HasSecrets):
    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore", populate_by_name=True)

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
    # While broker messages wait for the workers, hold the next one up to this long so it
    # carries more webhooks (adapters.broker.batching): fewer, larger messages let workers
    # that fall behind catch up. The hold ends early once every open connection's request
    # waits in the message (needs `pipeline receiver`'s HTTP protocol); 0 never holds.
    publish_linger_max_s: float = Field(0.05, ge=0, le=1.0)
    # Reverse proxies whose X-Forwarded-For is believed (comma-separated networks).
    # Empty: the client address is the peer of the connection, always.
    trusted_proxies: str = ""

    # Telegram (the bot itself and its webhook).
    telegram_bot_token: SecretStr | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    # Payment provider token from @BotFather for invoices in money (empty: Stars only).
    telegram_payment_provider_token: SecretStr | None = None
    # Where /feedback messages go (operators' chat); alerts: ALERT_CHAT_ID below.
    operator_chat_id: int | None = None
    # Outbound limits shared by all workers (Telegram: ~30/s overall, 1/s per chat,
    # 20/min per group).
    telegram_global_rate: float = Field(30.0, gt=0)
    telegram_chat_rate: float = Field(1.0, gt=0)
    telegram_group_rate_per_min: float = Field(20.0, gt=0)
    # Anti-flood per user: messages per second (with a small burst) and feedback per hour.
    throttle_messages_per_s: float = Field(1.0, gt=0)
    throttle_burst: int = Field(3, ge=1)
    throttle_feedback_per_hour: int = Field(5, ge=1)
    # Language for users whose Telegram language has no catalogue (pipeline/locales).
    default_language: str = "en"
    # The shop's name in the /start greeting (empty: the greeting names no shop).
    shop_name: str = ""

    # Business flow.
    # Cash register for 54-FZ receipts: "atol" or empty (no receipts).
    fiscal_register: str = ""
    # Public URL of the receiver, for callbacks (ATOL callback_url, YooKassa return_url).
    public_base_url: str = "http://localhost:8000"
    # Receipts still waiting this long are polled from the register.
    receipt_poll_after_s: int = Field(300, ge=1)
    # Payments pending this long are re-fetched from the provider.
    reconcile_pending_after_s: int = Field(900, ge=1)
    # Test-mode payments (Stripe livemode false, Robokassa IsTest, YooKassa test) settle
    # orders only when true: for a staging shop, never for a real one.
    allow_test_payments: bool = False
    # Orders not paid within this many hours take no more payments (0: no limit).
    order_pay_within_h: float = Field(0.0, ge=0)

    # Retry policy per task kind: attempts, backoff base and cap in seconds (full jitter).
    # The EVENT_* names of earlier versions still set the ingest policy.
    retry_ingest_attempts: int = Field(
        8, ge=1, validation_alias=AliasChoices("RETRY_INGEST_ATTEMPTS", "EVENT_MAX_ATTEMPTS")
    )
    retry_ingest_base_s: float = Field(
        2.0, gt=0, validation_alias=AliasChoices("RETRY_INGEST_BASE_S", "EVENT_RETRY_BASE_S")
    )
    retry_ingest_max_s: float = Field(
        600.0, gt=0, validation_alias=AliasChoices("RETRY_INGEST_MAX_S", "EVENT_RETRY_MAX_S")
    )
    retry_notify_attempts: int = Field(10, ge=1)
    retry_notify_base_s: float = Field(1.0, gt=0)
    retry_notify_max_s: float = Field(300.0, gt=0)
    retry_fiscal_attempts: int = Field(12, ge=1)
    retry_fiscal_base_s: float = Field(10.0, gt=0)
    retry_fiscal_max_s: float = Field(1800.0, gt=0)
    # Tasks that hit an unreachable or busy database (deadlock, timeout) are retried
    # without a limit while the broker keeps their message: full jitter up to this cap.
    retry_outage_base_s: float = Field(1.0, gt=0)
    retry_outage_max_s: float = Field(60.0, gt=0)
    # Extra handler modules to import in workers (comma-separated dotted paths).
    handler_modules: str = ""

    # Celery.
    worker_concurrency: int | None = None
    # Redis broker: a dead worker's messages go back to their queue after this long
    # (live workers renew theirs, so it need not cover the longest task).
    broker_visibility_timeout_s: int = Field(60, ge=20)

    # Sweeper and retention (beat jobs).
    sweep_stuck_after_s: float = Field(300.0, gt=0)
    sweep_retry_grace_s: float = Field(30.0, ge=0)
    retention_raw_body_days: int = Field(30, ge=0)  # 0: keep raw bodies forever
    # Vacuum the pipeline's tables from the worker: when the server's autovacuum is off
    # (auto), always, or never (pipeline.upkeep).
    db_vacuum: Literal["auto", "always", "never"] = "auto"

    # Operator alerts (a Telegram chat; empty: alerts are only logged and stored).
    alert_chat_id: int | None = None
    alert_locale: str = "en"  # the language of the alert texts (a catalogue in pipeline/locales)
    alert_cooldown_s: float = Field(900.0, ge=0)
    alert_signature_failures: int = Field(20, ge=1)  # rejections per window per provider
    alert_signature_window_s: int = Field(300, ge=10)
    alert_queue_backlog: int = Field(1000, ge=1)
    alert_queue_age_s: float = Field(300.0, gt=0)
    alert_heartbeat_s: float = Field(120.0, gt=0)
    # The database has been unreachable this long: alert (straight to the Bot API).
    alert_database_after_s: float = Field(10.0, ge=0)

    # Backups (pg_dump custom format, a .sha256 and a .json manifest beside each file).
    backup_dir: Path | None = None  # default DATA_DIR/backups
    backup_keep_daily: int = Field(7, ge=1)
    backup_keep_weekly: int = Field(4, ge=0)
    backup_max_age_h: float = Field(26.0, gt=0)

    # Monitoring.
    flower_basic_auth: SecretStr | None = None  # "user:password[,user2:password2]"
    sentry_dsn: SecretStr | None = None
    sentry_environment: str = "production"
    worker_metrics_port: int = Field(9808, ge=0)  # 0: no exporter

    # Operator API (`pipeline api`). Signing key of its access tokens: required outside the
    # embedded setup, where `pipeline api` keeps a generated one in DATA_DIR.
    api_jwt_secret: SecretStr | None = None
    api_access_token_ttl_s: int = Field(900, ge=30)
    api_refresh_token_ttl_s: int = Field(30 * 86400, ge=300)
    # Public base URL of the API (OAuth redirect URIs); empty: taken from the request.
    api_public_url: str = ""
    # Rate limits ("N/second|minute|hour", `;` between several): every authenticated caller
    # (per API key or staff user), anonymous callers per IP, and the login endpoints.
    api_rate_limit: str = "600/minute"
    api_anonymous_rate_limit: str = "60/minute"
    api_login_rate_limit: str = "10/minute;50/hour"
    api_login_email_rate_limit: str = "5/10minute;20/day"
    # Live WebSocket: heartbeat period, how many messages may wait for one client before
    # it is closed as too slow (4008), and how often an open connection's credential is
    # checked again (a logout, revoked key or deactivated account closes it with 4401).
    api_ws_ping_interval_s: float = Field(20.0, gt=0)
    api_ws_queue_size: int = Field(1000, ge=10)
    api_ws_recheck_s: float = Field(30.0, gt=0)
    # At most one live message per client this often: changes published sooner after the
    # last go out together with the next (fewer socket writes; adds at most this delay).
    api_ws_flush_s: float = Field(0.0, ge=0, le=1)
    # Cache-aside in Redis (catalogue, provider status, stats): seconds an entry lives.
    api_cache_ttl_s: float = Field(30.0, gt=0)
    # Web console (/admin) sessions: logged out after this long unused, and this long
    # after login whatever the use.
    console_session_idle_s: int = Field(3600, ge=60)
    console_session_ttl_s: int = Field(12 * 3600, ge=300)
    # Login codes sent by e-mail.
    login_code_ttl_s: int = Field(600, ge=60)
    login_code_attempts: int = Field(5, ge=1)
    # SMTP for login codes: smtp://user:pass@host:587 (STARTTLS), smtps://…:465 (TLS).
    # Empty: codes are printed to the console of `pipeline api` as development mail.
    smtp_url: SecretStr | None = None
    smtp_from: str = "pipeline@localhost"
    smtp_timeout_s: float = Field(10.0, gt=0)
    # OAuth2/OIDC login, JSON: {"google": {"client_id": "…", "client_secret": "…"},
    # "corp": {"discovery_url": "https://idp/.well-known/openid-configuration", …}}.
    oauth_providers: dict[str, OAuthProvider] = Field(default_factory=dict)
    # Who may sign up by logging in (comma-separated e-mail domains; empty: nobody), and as what.
    staff_signup_domains: str = ""
    staff_signup_role: Literal["viewer", "operator", "admin"] = "viewer"

    # Logging.
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    # AI assistant and feedback triage (docs/ai.md). Nothing leaves for an AI provider
    # unless AI_BASE_URL is set: an OpenAI-compatible endpoint (OpenAI, Ollama, vLLM,
    # llama.cpp, ...) that receives the buyer's question with personal data redacted, the
    # FAQ entries, products and the buyer's own orders retrieved for it, and feedback texts.
    ai_base_url: str = ""
    ai_api_key: SecretStr | None = None
    ai_model: str = "gpt-4o-mini"
    ai_timeout_s: float = Field(20.0, gt=0)
    ai_max_attempts: int = Field(3, ge=1)  # 429, 5xx and timeouts are retried
    ai_retry_base_s: float = Field(1.0, ge=0)
    # Daily budgets (UTC days): calls per buyer, and calls and tokens over everyone (0: none).
    ai_user_daily_calls: int = Field(30, ge=0)
    ai_daily_calls: int = Field(2000, ge=0)
    ai_daily_tokens: int = Field(2_000_000, ge=0)
    # Without an AI provider: the best FAQ answer is given from this rank (0..1) up.
    ai_faq_min_score: float = Field(0.3, ge=0)
    # Topics the assistant always hands to a person (comma-separated triage topics).
    ai_human_topics: str = "refund,complaint"
    # Alert when this many urgent complaints arrive within the window.
    ai_urgent_complaints: int = Field(3, ge=1)
    ai_urgent_window_s: int = Field(3600, ge=60)
    ai_calls_keep_days: int = Field(90, ge=0)  # 0: keep the call records forever

    # gRPC API (`pipeline grpc`). Internal sources that may submit events, JSON from the
    # source name to the handler its events route to ("module:function"; "" when a plugin
    # registers its own handlers): {"crm": "myplugin.crm:on_event"}.
    grpc_sources: dict[str, str] = Field(default_factory=dict)
    grpc_port: int = Field(50051, ge=0, le=65535)
    # TLS: both files in PEM; without them the server listens in plaintext.
    grpc_tls_cert: Path | None = None
    grpc_tls_key: Path | None = None
    grpc_metrics_port: int = Field(9809, ge=0, le=65535)  # 0: no exporter

    @field_validator("grpc_tls_cert", "grpc_tls_key", mode="before")
    @classmethod
    def _empty_path_is_none(cls, value: object) -> object:
        return None if value == "" else value  # `GRPC_TLS_CERT=` as in .env.example

    # Telegram Mini App (`/app/` of the API, opened from the bot's menu and buttons).
    # Its public URL (empty: PUBLIC_BASE_URL/app/); HTTPS outside localhost.
    miniapp_url: str = ""
    # How old initData may be (auth_date): for reading, and for checkout and payment.
    miniapp_read_max_age_s: int = Field(86400, ge=60)
    miniapp_pay_max_age_s: int = Field(3600, ge=60)
    # Without TELEGRAM_BOT_TOKEN, initData is checked by Telegram's Ed25519 signature for
    # this bot id, with Telegram's public key (hex; empty: the production key).
    miniapp_bot_id: int | None = None
    miniapp_signature_public_key: str = ""

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        from pipeline.i18n.catalogues import po_files  # the catalogues alone: no import cycle

        if value not in po_files():
            raise ValueError(f"no catalogue for {value!r}: one of {', '.join(po_files())}")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part, strict=False)  # ValueError names the bad entry
        return value


def backup_dir(settings: Settings) -> Path:
    return settings.backup_dir or settings.data_dir / "backups"


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
