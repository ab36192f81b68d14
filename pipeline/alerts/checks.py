"""The conditions the alert job evaluates; each raises its key while true, resolves it
once false. Direct triggers (an event went dead, a receipt failed) call `raise_alert`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from pipeline import metrics
from pipeline.alerts import raise_alert, resolve_alert, resolve_quiet, set_condition
from pipeline.alerts.probes import QueueStats
from pipeline.alerts.repository import firing
from pipeline.alerts.texts import N_, NP_, say, say_n
from pipeline.backups.repository import last_good_backup_at
from pipeline.events import repository
from pipeline.settings import Settings
from schema.events import Event

DEAD = "event_dead:"
RECEIPT = "receipt_failed:"
# Raised by the money rules (pipeline.payments.mismatch): one alert per payment.
PAYMENT_ALERTS = ("payment_mismatch:", "payment_overpaid:")
SIGNATURES = "signature_failures:"
QUEUE = "queue_backlog:"
HEARTBEAT = "worker_heartbeat"
BACKUP_FAILED = "backup_failed"
BACKUP_OVERDUE = "backup_overdue"


def on_event_dead(settings: Settings) -> Callable[[Session, Event], None]:
    """EventService's on_dead hook, with the process's settings."""
    return lambda session, event: alert_event_dead(session, event, settings)


def alert_event_dead(session: Session, event: Event, settings: Settings) -> None:
    """Alert in the transaction that made the event dead."""
    error = (event.last_error or "")[:300]
    text = say(
        settings,
        N_(
            "{source} event went dead (id {id}, {type}): {error}\n"
            "replay: pipeline events retry --status dead --source {source}"
        ),
        source=event.source,
        id=str(event.id),
        type=event.type,
        error=error,
    )
    raise_alert(session, f"{DEAD}{event.source}", text, settings=settings)


def alert_receipt_failed(session: Session, provider: str, detail: str, settings: Settings) -> bool:
    """For the fiscal code: a receipt failed at the cash register."""
    text = say(
        settings, N_("{provider}: receipt failed: {detail}"), provider=provider, detail=detail
    )
    return raise_alert(session, f"{RECEIPT}{provider}", text, settings=settings)


def check_events(session: Session, settings: Settings) -> None:
    """Dead-event alerts resolve once no dead event of that source is left (replayed);
    receipt alerts once none recurred for a cooldown."""
    dead = repository.dead_sources(session)
    for alert in firing(session, DEAD):
        source = alert.key[len(DEAD) :]
        if source not in dead:
            text = say(settings, N_("no dead {source} events left"), source=source)
            resolve_alert(session, alert.key, text, settings=settings)
    for prefix in (RECEIPT, *PAYMENT_ALERTS):
        resolve_quiet(session, prefix, max(settings.alert_cooldown_s, 60.0), settings=settings)
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
            say_n(
                settings,
                NP_(
                    "{provider}: {count} webhook with a bad signature in ~{minutes} min "
                    "(a probe, or a rotated secret not yet configured)",
                    "{provider}: {count} webhooks with bad signatures in ~{minutes} min "
                    "(a probe, or a rotated secret not yet configured)",
                ),
                count,
                provider=provider,
                minutes=str(window_min),
            ),
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
            say(
                settings,
                N_(
                    "queue {queue}: {depth} waiting, oldest {age} s "
                    "(thresholds {backlog} / {max_age} s)"
                ),
                queue=queue.queue,
                depth=str(queue.depth),
                age=f"{age:.0f}",
                backlog=str(settings.alert_queue_backlog),
                max_age=f"{settings.alert_queue_age_s:.0f}",
            ),
            settings=settings,
        )


def check_heartbeat(
    session: Session, settings: Settings, last: float | None, now: float | None = None
) -> None:
    now = now or time.time()
    silent = last is None or now - last > settings.alert_heartbeat_s
    if last is None:
        text = say(settings, N_("no worker heartbeat (never seen)"))
    else:
        ago = f"{now - last:.0f}"
        text = say(settings, N_("no worker heartbeat (last seen {seconds} s ago)"), seconds=ago)
    set_condition(session, HEARTBEAT, silent, text, settings=settings)


def check_backups(session: Session, settings: Settings, now: datetime | None = None) -> None:
    now = now or datetime.now(UTC)
    last = last_good_backup_at(session)
    if last is not None:
        metrics.BACKUP_LAST_SUCCESS.set(last.timestamp())
    # Never backed up: the daily job has not run yet; its failures alert on their own.
    overdue = last is not None and now - last > timedelta(hours=settings.backup_max_age_h)
    hours = f"{settings.backup_max_age_h:.0f}"
    if last is None:
        text = say(settings, N_("no good backup for over {hours} h (last: never)"), hours=hours)
    else:
        when = last.strftime("%Y-%m-%d %H:%M UTC")
        text = say(
            settings, N_("no good backup for over {hours} h (last: {when})"), hours=hours, when=when
        )
    set_condition(session, BACKUP_OVERDUE, overdue, text, settings=settings)
    metrics.ALERTS_FIRING.set(len(firing(session)))
