"""The alert job (beat, every 30 s): evaluate each condition, raise or resolve its alert.

Heartbeats are checked from beat's own process (see workers.monitoring), since a job on
a worker cannot notice that no worker is running.
"""

from __future__ import annotations

from datetime import UTC, datetime

from loguru import logger

from adapters.broker.queue_stats import queue_stats
from pipeline.alerts import checks
from pipeline.alerts.live import announce_changed_since
from pipeline.alerts.probes import rejections, sync_client
from pipeline.messaging.queues import TASK_CHECK_ALERTS
from pipeline.triage.alerting import check_urgent_complaints
from pipeline.unit_of_work import unit_of_work
from workers.celery_app import app
from workers.context import deps, runtime, sessions
from workers.tasks.base import LoggedTask


@app.task(name=TASK_CHECK_ALERTS, base=LoggedTask, bind=True)
def check_alerts(self: LoggedTask) -> None:
    settings = runtime().settings
    client = sync_client(settings)
    try:
        counts = rejections(client, settings.alert_signature_window_s) if client else {}
        stats = queue_stats(settings.broker_url or "", client)
    finally:
        if client is not None:
            client.close()
    started = datetime.now(UTC)
    with unit_of_work(sessions(), deps()) as uow:
        checks.check_events(uow.session, settings)
        checks.check_signatures(uow.session, settings, counts)
        checks.check_queues(uow.session, settings, stats)
        checks.check_backups(uow.session, settings)
        check_urgent_complaints(uow.session, settings)
    try:  # the API's live `alerts` topic, best effort
        announce_changed_since(sessions(), started, deps())
    except RuntimeError as exc:
        logger.warning("alert changes not announced: {}", exc)
    logger.debug("alert checks done")
