"""Celery behind the core's `TaskSender` port: `send_task` by name onto the task's queue."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from celery import Celery

from adapters.broker.celery_client import celery_client
from adapters.broker.celery_message import task_message
from adapters.broker.publisher import BrokerPublisher
from pipeline.messaging.queues import queue_name
from pipeline.messaging.urls import is_amqp
from pipeline.settings import Settings


class CeleryTaskSender:
    """Sends through a Celery app, or through a Celery client built from the process's
    settings at the first task of each process (a forked child builds its own).
    Safe to share between threads (the API's requests): Celery takes a pooled producer
    for each send, and the pipelined batches go through redis-py's connection pool."""

    def __init__(self, through: Celery | Settings) -> None:
        self._app = through if isinstance(through, Celery) else None
        self._settings = through if isinstance(through, Settings) else None
        self._clients: dict[tuple[int, str], Celery] = {}
        self._publishers: dict[tuple[int, str], BrokerPublisher] = {}
        self._lock = threading.Lock()  # one client and one publisher per process and URL

    def _celery(self) -> Celery:
        if self._app is not None:
            return self._app
        settings = self._settings
        assert settings is not None  # one of the two, by construction
        key = (os.getpid(), settings.broker_url or "")
        with self._lock:
            if key not in self._clients:
                self._clients[key] = celery_client(settings)
            return self._clients[key]

    def _publisher(self, url: str) -> BrokerPublisher:
        key = (os.getpid(), url)
        with self._lock:
            if key not in self._publishers:
                self._publishers[key] = BrokerPublisher(url, timeout=5.0)
            return self._publishers[key]

    def send(self, name: str, queue: str, *args: Any, countdown: float | None = None) -> str:
        result = self._celery().send_task(
            name, args=list(args), queue=queue_name(queue), countdown=countdown
        )
        return str(result.id)

    def send_many(self, name: str, queue: str, arg_lists: Sequence[Sequence[Any]]) -> None:
        """On Redis one pipelined round trip for the lot (a batch's receipts, a bulk
        retry's batch), in the workers too (a send each cost a round trip and a
        millisecond of Celery per event of a batch); elsewhere, and for one task, one
        send each over one producer."""
        app = self._celery()
        url = str(app.conf.broker_url or "")
        # One task goes through Celery: the publisher's single publish uses its one kombu
        # connection, which threads must not share.
        if len(arg_lists) > 1 and url and not is_amqp(url):
            messages = [task_message(name, queue, list(args)) for args in arg_lists]
            self._publisher(url).publish_many(messages)
            return
        with app.producer_or_acquire() as producer:
            for args in arg_lists:
                app.send_task(name, args=list(args), queue=queue_name(queue), producer=producer)

    def close(self) -> None:
        """Close the publishers this sender built and drop its clients (a given app stays
        its owner's). A client's connections stay in kombu's pools: those are shared by
        every app of the process on the same broker URL, the workers' own included."""
        with self._lock:
            for publisher in self._publishers.values():
                publisher.close()
            for client in self._clients.values():
                client.close()
            self._publishers.clear()
            self._clients.clear()
