"""CloudKassir receipt notifications: CloudPayments' signing and answers, own secret."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from pipeline.providers.cloudpayments import CloudNotifications, CloudNotificationSettings
from pipeline.settings import ENV_FILE


class CloudKassirSettings(CloudNotificationSettings):
    model_config = SettingsConfigDict(env_prefix="CLOUDKASSIR_", env_file=ENV_FILE, extra="ignore")


class CloudKassirProvider(CloudNotifications):
    name: ClassVar[str] = "cloudkassir"
    kinds: ClassVar[tuple[str, ...]] = ("receipt",)
    default_kind: ClassVar[str] = "receipt"

    def __init__(self, settings: CloudKassirSettings) -> None:
        self.settings = settings
