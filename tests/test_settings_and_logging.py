"""Every setting is documented in .env.example; logs carry the ids they promise."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from loguru import logger

from pipeline.logging import setup_logging
from pipeline.redaction import Redactor
from pipeline.settings import Settings
from scripts.gen_config_docs import env_name, settings_classes

ROOT = Path(__file__).resolve().parent.parent


def documented() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, flags=re.M))


def test_every_setting_is_in_env_example() -> None:
    names = {
        env_name(cls, name, info)
        for cls in settings_classes()
        for name, info in cls.model_fields.items()
    }
    missing = sorted(names - documented())
    assert not missing, f".env.example lacks: {missing}"


def test_json_logs_carry_event_and_task_ids(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(Settings(log_format="json", log_level="INFO"), "worker", Redactor())
    try:
        with logger.contextualize(event_id=42, task_id="t-1"):
            logger.info("processed")
        sys.stderr.flush()
        line = capsys.readouterr().err.strip().splitlines()[-1]
        record = json.loads(line)["record"]
        assert record["message"] == "processed"
        assert record["extra"]["event_id"] == 42 and record["extra"]["task_id"] == "t-1"
        assert record["extra"]["role"] == "worker"
    finally:
        logger.remove()


def test_secrets_are_not_rendered() -> None:
    settings = Settings(telegram_webhook_secret="very-secret-value")
    assert "very-secret-value" not in repr(settings)
    assert "very-secret-value" not in str(settings.model_dump())
