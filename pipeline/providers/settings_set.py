"""Every built-in provider's settings, read from the environment once per process.

The process's runtime builds one `ProviderSettingsSet` at start and hands it to the
providers of its registry, to event handlers and to the domain services that call the
providers' APIs, so nothing re-reads the environment per event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_type_hints

from loguru import logger
from pydantic import ValidationError

from pipeline.providers.alertmanager import AlertmanagerSettings
from pipeline.providers.atol import AtolSettings
from pipeline.providers.cloudkassir import CloudKassirSettings
from pipeline.providers.cloudpayments import CloudPaymentsSettings
from pipeline.providers.orangedata import OrangeDataSettings
from pipeline.providers.robokassa import RobokassaSettings
from pipeline.providers.stripe import StripeSettings
from pipeline.providers.tbank import TBankSettings
from pipeline.providers.telegram import TelegramWebhookSettings
from pipeline.providers.yookassa import YooKassaSettings
from pipeline.receipts.registration import ReceiptSettings
from pipeline.redaction import HasSecrets


@dataclass(frozen=True)
class ProviderSettingsSet:
    telegram: TelegramWebhookSettings
    stripe: StripeSettings
    yookassa: YooKassaSettings
    cloudpayments: CloudPaymentsSettings
    cloudkassir: CloudKassirSettings
    tbank: TBankSettings
    robokassa: RobokassaSettings
    atol: AtolSettings
    orangedata: OrangeDataSettings
    alertmanager: AlertmanagerSettings
    receipt: ReceiptSettings

    @classmethod
    def from_env(cls) -> ProviderSettingsSet:
        return cls(
            telegram=TelegramWebhookSettings(),
            stripe=StripeSettings(),
            yookassa=YooKassaSettings(),
            cloudpayments=CloudPaymentsSettings(),
            cloudkassir=CloudKassirSettings(),
            tbank=TBankSettings(),
            robokassa=RobokassaSettings(),
            atol=AtolSettings(),
            orangedata=OrangeDataSettings(),
            alertmanager=AlertmanagerSettings(),
            receipt=ReceiptSettings(),
        )

    @staticmethod
    def readable() -> list[HasSecrets]:
        """Each provider's settings that the environment holds validly; the others are
        left out with a warning (a command that uses one of them fails when it does).
        What a process learns its secrets from when it may run without every provider
        configured right: migrations, the operators' commands."""
        found: list[HasSecrets] = []
        for name, kind in get_type_hints(ProviderSettingsSet).items():
            try:
                found.append(kind())
            except ValidationError as exc:
                logger.warning("{} settings are not valid: {}", name, one_line_errors(exc))
        return found

    def all(self) -> tuple[HasSecrets, ...]:
        """Every settings object of the set (what a process's Redactor learns)."""
        return tuple(s for s in vars(self).values() if isinstance(s, HasSecrets))


def one_line_errors(exc: ValidationError) -> str:
    """Which fields are wrong and why, without their values."""
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or '?'}: {error['msg']}" for error in exc.errors()
    )
