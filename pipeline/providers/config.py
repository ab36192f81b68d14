"""Settings every provider shares: its source-network allowlist.

Each provider subclasses `ProviderSettings` with its own `env_prefix`, so
`YOOKASSA_ALLOWED_NETWORKS` and `TBANK_ENFORCE_OFFICIAL_NETWORKS` come for free.
"""

from __future__ import annotations

from pydantic import field_validator
from pydantic_settings import SettingsConfigDict

from pipeline.providers.networks import Networks, joined, parse_networks
from pipeline.redaction import HasSecrets
from pipeline.settings import ENV_FILE


class ProviderSettings(HasSecrets):
    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore")

    # Comma-separated networks allowed to post (empty and not enforcing official: off).
    allowed_networks: str = ""
    # Also allow the provider's published networks (only where the provider publishes them).
    enforce_official_networks: bool = False

    @field_validator("allowed_networks")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    def source_networks(self, official: tuple[str, ...] = ()) -> Networks | None:
        """The allowlist in force, or None when the check is off."""
        spec = joined(official if self.enforce_official_networks else (), self.allowed_networks)
        if not spec:
            return None
        return parse_networks(spec)
