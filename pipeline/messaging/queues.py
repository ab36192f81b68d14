"""Queues and task names shared by every process that sends or consumes tasks.

The receiver sends tasks by name, so it needs these names but none of the workers' code.
"""

from __future__ import annotations

from kombu import Exchange, Queue

INGEST = "ingest"
TELEGRAM = "telegram"
NOTIFY = "notify"
FISCAL = "fiscal"
MAINTENANCE = "maintenance"
ALL_QUEUES = (INGEST, TELEGRAM, NOTIFY, FISCAL, MAINTENANCE)

# Task names (the receiver and the CLI send by name).
TASK_INGEST = "workers.ingest"
TASK_PROCESS_EVENT = "workers.process_event"
TASK_DISPATCH_DUE = "workers.dispatch_due"


def kombu_queue(name: str) -> Queue:
    """The declaration every process agrees on: a durable direct exchange per queue."""
    return Queue(name, Exchange(name, type="direct", durable=True), routing_key=name, durable=True)


def kombu_queues() -> list[Queue]:
    return [kombu_queue(name) for name in ALL_QUEUES]
