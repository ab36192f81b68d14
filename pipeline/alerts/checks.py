"""The conditions the alert job evaluates; each raises its key while true, resolves it
once false. Direct triggers (an event went dead, a receipt failed) call `raise_alert`."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline import metrics
from pipeline.alerts import firing, raise_alert, resolve_alert, resolve_quiet, set_condition
from pipeline.alerts.probes import QueueStats
from pipeline.events import repository
from pipeline.settings import Settings
from schema.events import Event
from schema.operations import BackupRun

DEAD = "event_dead:"
RECEIPT = "receipt_failed:"
# Raised by the money rules (pipeline.payments.mismatch): one alert per payment.
PAYMENT_ALERTS = ("payment_mismatch:", "payment_overpaid:")
SIGNATURES = "signature_failures:"
QUEUE = "queue_backlog:"
HEARTBEAT = "worker_heartbeat"
BACKUP_FAILED = "backup_failed"
BACKUP_OVERDUE = "backup_overdue"


def on_event_dead(session: Session, event: Event) -> None:
    """EventService's on_dead hook: alert in the transaction that made the event dead."""
    error = (event.last_error or "")[:300]
    raise_alert(
        session,
        f"{DEAD}{event.source}",
        f"{event.source} event went dead (id {event.id}, {event.type}): {error}\n"
        f"replay: pipeline events retry --status dead --source {event.source}",
    )


def alert_receipt_failed(session: Session, provider: str, detail: str) -> bool:
    """For the fiscal code: a receipt failed at the cash register."""
    return raise_alert(session, f"{RECEIPT}{provider}", f"{provider}: receipt failed: {detail}")


def check_events(session: Session, settings: Settings) -> None:
    """Dead-event alerts resolve once no dead event of that source is left (replayed);
    receipt alerts once none recurred for a cooldown."""
    dead = repository.dead_sources(session)
    for alert in firing(session, DEAD):
        if alert.key[len(DEAD) :] not in dead:
            resolve_alert(session, alert.key, f"no dead {alert.key[len(DEAD) :]} events left")
    for prefix in (RECEIPT, *PAYMENT_ALERTS):
        resolve_quiet(session, prefix, max(settings.alert_cooldown_s, 60.0))
    for status, count in repository.status_counts(session).items():
        metrics.EVENTS_BY_STATUS.labels(status).set(count)


def check_signatures(session: Session, settings: Settings, counts: dict[str, int]) -> None:
    threshold = settings.alert_signature_failures
    window_min = settings.alert_signature_window_s // 60 or 1
    providers = set(counts) | {a.key[len(SIGNATURES) :] for a in firing(session, SIGNATURES)}
    for provider in sorted(providers):
        count = counts.get(provider, 0)
        set_condition(
            session,
            f"{SIGNATURES}{provider}",
            count >= threshold,
            f"{provider}: {count} webhooks with bad signatures in ~{window_min} min "
            "(a probe, or a rotated secret not yet configured)",
            settings=settings,
        )


def check_queues(session: Session, settings: Settings, stats: list[QueueStats]) -> None:
    for queue in stats:
        metrics.QUEUE_DEPTH.labels(queue.queue).set(queue.depth)
        metrics.QUEUE_AGE.labels(queue.queue).set(queue.oldest_age_s or 0.0)
        age = queue.oldest_age_s or 0.0
        over = queue.depth >= settings.alert_queue_backlog or age >= settings.alert_queue_age_s
        set_condition(
            session,
            f"{QUEUE}{queue.queue}",
            over,
            f"queue {queue.queue}: {queue.depth} waiting, oldest {age:.0f} s "
            f"(thresholds {settings.alert_queue_backlog} / {settings.alert_queue_age_s:.0f} s)",
            settings=settings,
        )


def check_heartbeat(
    session: Session, settings: Settings, last: float | None, now: float | None = None
) -> None:
    now = now or time.time()
    silent = last is None or now - last > settings.alert_heartbeat_s
    since = "never seen" if last is None else f"last seen {now - last:.0f} s ago"
    text = f"no worker heartbeat ({since})"
    set_condition(session, HEARTBEAT, silent, text, settings=settings)


def last_good_backup(session: Session) -> datetime | None:
    stmt = select(func.max(BackupRun.finished_at)).where(BackupRun.ok.is_(True))
    value: datetime | None = session.execute(stmt).scalar_one()
    return value


def check_backups(session: Session, settings: Settings, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    last = last_good_backup(session)
    if last is not None:
        metrics.BACKUP_LAST_SUCCESS.set(last.timestamp())
    # Never backed up: the daily job has not run yet; its failures alert on their own.
    overdue = last is not None and now - last > timedelta(hours=settings.backup_max_age_h)
    when = "never" if last is None else last.strftime("%Y-%m-%d %H:%M UTC")
    set_condition(
        session,
        BACKUP_OVERDUE,
        overdue,
        f"no good backup for over {settings.backup_max_age_h:.0f} h (last: {when})",
        settings=settings,
    )
    metrics.ALERTS_FIRING.set(len(firing(session)))
