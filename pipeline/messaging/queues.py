"""Queues and task names shared by every process that sends or consumes tasks.

The receiver sends tasks by name, so it needs these names but none of the workers' code.
`QUEUE_PREFIX` lets several pipelines (or test runs) share one broker.
"""

from __future__ import annotations

import os

INGEST = "ingest"
TELEGRAM = "telegram"
NOTIFY = "notify"
FISCAL = "fiscal"
MAINTENANCE = "maintenance"
ALL_QUEUES = (INGEST, TELEGRAM, NOTIFY, FISCAL, MAINTENANCE)

# Every task's name: processes send by name, the workers register under it.
TASK_INGEST = "workers.ingest"
TASK_PROCESS_EVENT = "workers.process_event"
TASK_DISPATCH_DUE = "workers.dispatch_due"
# Domain tasks (sent after commit by the services that need them).
TASK_REGISTER_RECEIPT = "workers.register_receipt"
TASK_POLL_RECEIPTS = "workers.poll_receipts"
TASK_RECONCILE_PAYMENTS = "workers.reconcile_payments"
TASK_REFUND_PAYMENT = "workers.refund_payment"
TASK_SEND_NOTIFICATIONS = "workers.send_notifications"
TASK_HANDLE_CHAT = "workers.handle_chat_updates"
# Maintenance (beat, the operator API).
TASK_PRUNE_RAW_BODIES = "workers.prune_raw_bodies"
TASK_PRUNE_AUTH = "workers.prune_auth"
TASK_PRUNE_AI_CALLS = "workers.prune_ai_calls"
TASK_CHECK_ALERTS = "workers.check_alerts"
TASK_VACUUM_TABLES = "workers.vacuum_tables"
TASK_BACKUP = "workers.backup"
TASK_VERIFY_BACKUP = "workers.verify_backup"


def queue_name(base: str) -> str:
    """The broker-side name of a logical queue."""
    return os.environ.get("QUEUE_PREFIX", "") + base
