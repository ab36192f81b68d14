"""Sending tasks through Celery: the producer side of the Celery configuration, shared by
the workers' app and the light app of every other process that sends tasks."""

from __future__ import annotations

from typing import Any

from celery import Celery

from adapters.broker import reliable_redis
from adapters.broker.declarations import kombu_queues
from adapters.broker.publisher import transport_options
from pipeline.messaging.queues import MAINTENANCE, queue_name
from pipeline.messaging.urls import is_amqp
from pipeline.settings import Settings


def producer_config(settings: Settings, broker_url: str | None = None) -> dict[str, Any]:
    broker = broker_url or settings.broker_url or ""
    return {
        "broker_url": broker,
        "broker_transport_options": transport_options(
            broker, timeout=2.0, visibility_timeout=settings.broker_visibility_timeout_s
        ),
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 2.0,
        "broker_heartbeat": 10 if is_amqp(broker) else 0,
        "task_queues": kombu_queues(),
        "task_default_queue": queue_name(MAINTENANCE),
        # A producer must never hang when the broker is down.
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 3,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1.0,
        },
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_ignore_result": True,
        "result_backend": None,
        "timezone": "UTC",
        "enable_utc": True,
    }


def celery_client(settings: Settings, broker_url: str | None = None) -> Celery:
    """A Celery app that sends tasks by name (it runs none)."""
    reliable_redis.install()  # Redis brokers: publishes ring the consumers' doorbells
    app = Celery("pipeline", set_as_current=False)
    app.conf.update(producer_config(settings, broker_url))
    return app
