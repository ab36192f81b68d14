"""Where the Mini App lives, from the settings (its initData check: api.miniapp.initdata)."""

from __future__ import annotations

from urllib.parse import urlsplit

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
