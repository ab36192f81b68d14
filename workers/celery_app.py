"""The Celery application: queues, routing, reliability settings, beat schedule."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from celery import Celery, signals
from celery.schedules import crontab

from adapters.broker import reliable_redis
from adapters.broker.celery_client import producer_config
from adapters.broker.task_sender import CeleryTaskSender
from pipeline.logging import setup_logging
from pipeline.messaging.queues import (
    FISCAL,
    INGEST,
    MAINTENANCE,
    NOTIFY,
    TASK_BACKUP,
    TASK_CHECK_ALERTS,
    TASK_DISPATCH_DUE,
    TASK_HANDLE_CHAT,
    TASK_INGEST,
    TASK_POLL_RECEIPTS,
    TASK_PROCESS_EVENT,
    TASK_PRUNE_AI_CALLS,
    TASK_PRUNE_AUTH,
    TASK_PRUNE_RAW_BODIES,
    TASK_RECONCILE_PAYMENTS,
    TASK_REFUND_PAYMENT,
    TASK_REGISTER_RECEIPT,
    TASK_SEND_NOTIFICATIONS,
    TASK_VACUUM_TABLES,
    TELEGRAM,
    queue_name,
)
from pipeline.redaction import Redactor
from pipeline.sentry import init_sentry
from pipeline.settings import Settings, get_settings
from workers.resilience import WorkerHealth

if TYPE_CHECKING:
    from pipeline.providers.settings_set import ProviderSettingsSet
    from workers.runtime import WorkerRuntime

TASK_MODULES = [
    "workers.tasks.ingest",
    "workers.tasks.maintenance",
    "workers.tasks.business",
    "workers.tasks.telegram",
    "workers.tasks.alerts",
    "workers.tasks.backups",
]
DISPATCH_DUE_EVERY_S = 10.0
CHECK_ALERTS_EVERY_S = 30.0
# At 300 events/s a minute leaves some 40,000 dead row versions in events (pipeline.upkeep).
VACUUM_TABLES_EVERY_S = 60.0


def celery_config(settings: Settings) -> dict[str, Any]:
    return {
        **producer_config(settings),
        # Tasks are idempotent: redeliver rather than lose when a worker dies mid-task.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One message per pool process: what waits stays in the broker's queue, where the
        # receiver sees the backlog (its queue length) and packs more webhooks per message
        # (adapters.broker.batching), and a free process takes the oldest message.
        "worker_prefetch_multiplier": 1,
        "task_routes": {
            TASK_INGEST: {"queue": queue_name(INGEST)},
            TASK_PROCESS_EVENT: {"queue": queue_name(INGEST)},
            TASK_DISPATCH_DUE: {"queue": queue_name(MAINTENANCE)},
            TASK_HANDLE_CHAT: {"queue": queue_name(TELEGRAM)},
            TASK_SEND_NOTIFICATIONS: {"queue": queue_name(NOTIFY)},
            TASK_REGISTER_RECEIPT: {"queue": queue_name(FISCAL)},
            TASK_POLL_RECEIPTS: {"queue": queue_name(MAINTENANCE)},
            TASK_RECONCILE_PAYMENTS: {"queue": queue_name(MAINTENANCE)},
            TASK_REFUND_PAYMENT: {"queue": queue_name(MAINTENANCE)},
            TASK_VACUUM_TABLES: {"queue": queue_name(MAINTENANCE)},
        },
        "worker_hijack_root_logger": False,
        # Task events cost several broker writes per task; Flower switches them on at run
        # time (enable_events) while it watches, so they are off by default.
        "worker_send_task_events": False,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "beat_schedule": {
            "dispatch-due-events": {"task": TASK_DISPATCH_DUE, "schedule": DISPATCH_DUE_EVERY_S},
            # Sweeps: whatever an after-commit message missed is picked up here.
            "send-notifications": {"task": TASK_SEND_NOTIFICATIONS, "schedule": 10.0},
            "poll-receipts": {"task": TASK_POLL_RECEIPTS, "schedule": 30.0},
            "reconcile-payments": {"task": TASK_RECONCILE_PAYMENTS, "schedule": 60.0},
            "handle-pending-chats": {"task": TASK_HANDLE_CHAT, "schedule": 15.0, "args": (None,)},
            "check-alerts": {"task": TASK_CHECK_ALERTS, "schedule": CHECK_ALERTS_EVERY_S},
            "vacuum-tables": {"task": TASK_VACUUM_TABLES, "schedule": VACUUM_TABLES_EVERY_S},
            "prune-raw-bodies": {"task": TASK_PRUNE_RAW_BODIES, "schedule": 3600.0},
            "prune-auth": {"task": TASK_PRUNE_AUTH, "schedule": 3600.0},
            "prune-ai-calls": {"task": TASK_PRUNE_AI_CALLS, "schedule": 3600.0},
            "daily-backup": {"task": TASK_BACKUP, "schedule": crontab(hour=3, minute=0)},
        },
    }


class WorkerApp(Celery):  # type: ignore[misc]
    """The Celery app, holding its process's runtime (one per process; see workers.runtime)."""

    def __init__(self, settings: Settings, main: str = "pipeline", **options: Any) -> None:
        super().__init__(main, **options)
        self._settings: Settings | None = settings
        self._providers: ProviderSettingsSet | None = None
        self._redactor: Redactor | None = None
        self._runtime: WorkerRuntime | None = None
        self._health: WorkerHealth | None = None
        # Beat builds a runtime too (its heartbeat watch writes alerts), without handlers.
        self.is_beat = False

    @property
    def pipeline_settings(self) -> Settings:
        if self._settings is None:  # reset: read again at the next use
            self._settings = get_settings()
        return self._settings

    @property
    def providers(self) -> ProviderSettingsSet:
        """Every provider's settings, read once (a forked child keeps the parent's)."""
        if self._providers is None:
            from pipeline.providers.settings_set import ProviderSettingsSet

            self._providers = ProviderSettingsSet.from_env()
        return self._providers

    @property
    def redactor(self) -> Redactor:
        """The process's Redactor: the log sinks, Sentry and the runtime's `Deps` share it.
        Built once for the app and inherited by forked children (their sinks are the
        parent's); what is read later (a reset runtime's settings) is added to it."""
        if self._redactor is None:
            self._redactor = Redactor(self.pipeline_settings, *self.providers.all())
        return self._redactor

    @property
    def health(self) -> WorkerHealth:
        """This process's outage tracker, sweep back-off and task clocks (a forked child
        starts its own)."""
        current = self._health
        if current is None or current.pid != os.getpid():
            current = self._health = WorkerHealth.new(self.pipeline_settings)
        return current

    @property
    def runtime(self) -> WorkerRuntime:
        current = self._runtime
        if current is None or current.pid != os.getpid():
            from workers.runtime import build_worker_runtime  # the tasks' code, not beat's

            current = self._runtime = build_worker_runtime(
                self.pipeline_settings,
                self._sender(),
                self.providers,
                self.redactor,
                runs_tasks=not self.is_beat,
            )
        return current

    def _sender(self) -> CeleryTaskSender:
        """Through this app; through a client of its own when the runtime was reset to
        another broker (tests)."""
        if self.pipeline_settings.broker_url == self.conf.broker_url:
            return CeleryTaskSender(self)
        return CeleryTaskSender(self.pipeline_settings)

    def reset_runtime(self, settings: Settings | None = None) -> None:
        """Drop the runtime; the next task builds it again, from `settings` or the
        environment's at that time (tests that change the environment). The Redactor stays
        (the sinks hold it): the new runtime's settings are added to it."""
        if self._runtime is not None and self._runtime.pid == os.getpid():
            self._runtime.close()
        self._runtime = None
        self._health = None
        self._settings = settings
        self._providers = None


def create_celery(settings: Settings | None = None) -> WorkerApp:
    settings = settings or get_settings()
    reliable_redis.install()  # Redis brokers: fetch and record a message atomically
    celery = WorkerApp(settings, include=TASK_MODULES)
    celery.conf.update(celery_config(settings))
    return celery


@signals.setup_logging.connect
def _route_celery_logs(**_: Any) -> None:
    role = os.environ.get("PIPELINE_ROLE", "worker")
    setup_logging(app.pipeline_settings, role, app.redactor)


@signals.worker_init.connect
def _preload(**_: Any) -> None:
    from workers.runtime import load_code

    init_sentry(app.pipeline_settings, "worker", app.redactor)
    load_code(app.pipeline_settings, app.providers)


@signals.worker_ready.connect
def _monitor(**_: Any) -> None:
    from workers import monitoring
    from workers.lease import start_lease_renewal

    settings = app.pipeline_settings
    start_lease_renewal(settings.broker_url or "", settings.broker_visibility_timeout_s)
    monitoring.start_exporter(settings.worker_metrics_port, _sources(settings))
    monitoring.start_heartbeat(settings)


def _sources(settings: Settings) -> list[str]:
    from pipeline.providers.registry import build_registry

    return build_registry(settings, providers=app.providers).names()


@signals.worker_process_init.connect
def _child_start(**_: Any) -> None:
    init_sentry(app.pipeline_settings, "worker", app.redactor)
    app.runtime  # noqa: B018 (built now: the child's first task does not wait for it)


@signals.worker_process_shutdown.connect
def _child_gone(pid: int | None = None, **_: Any) -> None:
    from pipeline.metrics import mark_process_dead

    mark_process_dead(pid or os.getpid())


@signals.beat_init.connect
def _beat_started(**_: Any) -> None:
    from workers import monitoring

    settings = app.pipeline_settings
    app.is_beat = True
    init_sentry(settings, "beat", app.redactor)
    monitoring.start_beat_heartbeat(settings)
    monitoring.start_heartbeat_watch(settings)


@signals.task_prerun.connect
def _task_prerun(task_id: str = "", **_: Any) -> None:
    from workers import monitoring

    monitoring.task_started(app.health.started, task_id)


@signals.task_postrun.connect
def _task_postrun(task_id: str = "", task: Any = None, **_: Any) -> None:
    from workers import monitoring

    monitoring.task_finished(app.health.started, task_id, getattr(task, "name", "?"))


app = create_celery()
