"""Where the Mini App lives and how its initData is checked, from the settings."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiogram.utils.web_app_signature import PRODUCTION_PUBLIC_KEY

from pipeline.miniapp.initdata import Verifier
from pipeline.settings import Settings

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def miniapp_url(settings: Settings) -> str:
    """MINIAPP_URL, or PUBLIC_BASE_URL/app/. Telegram opens only HTTPS Mini Apps: plain
    HTTP is allowed for a local browser alone."""
    url = settings.miniapp_url or settings.public_base_url.rstrip("/") + "/app/"
    parts = urlsplit(url)
    if parts.scheme != "https" and not (
        parts.scheme == "http" and (parts.hostname or "") in LOCAL_HOSTS
    ):
        raise ValueError(f"MINIAPP_URL must be https:// (got {parts.scheme or 'no'} scheme)")
    return url


def verifier(settings: Settings) -> Verifier | None:
    """None when neither the bot token nor the bot id is set: nobody can log in."""
    token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else ""
    if not token and settings.miniapp_bot_id is None:
        return None
    key = settings.miniapp_signature_public_key
    return Verifier(
        bot_token=token or None,
        bot_id=settings.miniapp_bot_id,
        public_key=bytes.fromhex(key) if key else PRODUCTION_PUBLIC_KEY,
    )
