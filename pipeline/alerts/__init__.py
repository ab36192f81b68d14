"""Operator alerts: a key per condition, repeats folded into a count, a resolve message.

State lives in the `alerts` table; each message is an outbox row (kind "alert") to
ALERT_CHAT_ID, delivered by the same rate-limited sender as user notifications. Call these
inside the transaction of the change that raises or clears the condition.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loguru import logger
from sqlalchemy.orm import Session

from pipeline.alerts import repository
from pipeline.alerts.repository import FIRING, RESOLVED
from pipeline.alerts.texts import N_, NP_, say, say_n
from pipeline.deps import redactor_of
from pipeline.notifications.outbox import add_notification
from pipeline.redaction import Redactor
from pipeline.settings import Settings
from pipeline.unit_of_work import session_deps
from schema.operations import Alert

KIND = "alert"


def _send(session: Session, alert: Alert, text: str, settings: Settings) -> None:
    alert.messages += 1
    chat_id = settings.alert_chat_id
    if chat_id is None:
        logger.warning("alert (no ALERT_CHAT_ID) {}", text)
        return
    add_notification(
        session,
        dedup_key=f"alert:{alert.key}:{alert.messages}"[:200],
        chat_id=chat_id,
        kind=KIND,
        text=text,
    )


def _redactor(session: Session, settings: Settings, given: Redactor | None) -> Redactor:
    if given is not None:
        return given
    deps = session_deps(session)
    return deps.redactor if deps is not None else redactor_of(settings)


def raise_alert(
    session: Session,
    key: str,
    text: str,
    *,
    now: datetime | None = None,
    settings: Settings,
    redactor: Redactor | None = None,
) -> bool:
    """Record one occurrence of `key`. Sends a message when the alert starts firing or
    the cooldown since the last message has passed (naming the folded repeats); returns
    whether a message was written. `redactor`: the process's (by default the one of the
    session's unit of work)."""
    now = now or datetime.now(UTC)
    # Error texts go to a chat: no secret with them.
    key, text = key[:200], _redactor(session, settings, redactor).redact(text)
    alert = repository.lock_or_create(session, key, text=text, now=now)
    alert.total += 1
    alert.pending += 1
    alert.last_at = now
    alert.text = text
    if alert.status != FIRING:
        alert.status, alert.first_at, alert.resolved_at = FIRING, now, None
        alert.pending, alert.last_sent_at = 0, now
        _send(session, alert, f"🔴 {text}\n[{key}]", settings)
        return True
    cooldown = timedelta(seconds=settings.alert_cooldown_s)
    if alert.last_sent_at is not None and now - alert.last_sent_at < cooldown:
        return False
    repeats = alert.pending
    alert.pending, alert.last_sent_at = 0, now
    since = alert.first_at.strftime("%Y-%m-%d %H:%M UTC")
    folded = say_n(
        settings,
        NP_(
            "[{key}] repeated {count} more time since {since}",
            "[{key}] repeated {count} more times since {since}",
        ),
        repeats,
        key=key,
        since=since,
    )
    _send(session, alert, f"🔴 {text}\n{folded}", settings)
    return True


def resolve_alert(
    session: Session,
    key: str,
    text: str | None = None,
    *,
    now: datetime | None = None,
    settings: Settings,
) -> bool:
    """Clear a firing alert with a "resolved" message; a no-op when it is not firing."""
    now = now or datetime.now(UTC)
    alert = repository.lock(session, key[:200])
    if alert is None or alert.status != FIRING:
        return False
    alert.status, alert.resolved_at = RESOLVED, now
    occurrences = say_n(settings, NP_("{count} occurrence", "{count} occurrences"), alert.total)
    if alert.pending:
        repeats = NP_("{count} unreported repeat", "{count} unreported repeats")
        occurrences += ", " + say_n(settings, repeats, alert.pending)
    alert.pending = 0
    lasted = str(int((now - alert.first_at).total_seconds() // 60))
    resolved = say(
        settings,
        N_("resolved after {minutes} min ({occurrences}): {text}"),
        minutes=lasted,
        occurrences=occurrences,
        text=text or alert.text,
    )
    _send(session, alert, f"✅ {resolved}\n[{key}]", settings)
    return True


def resolve_quiet(
    session: Session,
    prefix: str,
    quiet_s: float,
    *,
    now: datetime | None = None,
    settings: Settings,
) -> list[str]:
    """Resolve firing alerts under `prefix` that have not recurred for `quiet_s` (for
    conditions known only by their occurrences, like a failed receipt)."""
    now = now or datetime.now(UTC)
    done = []
    for alert in repository.firing(session, prefix):
        if now - alert.last_at >= timedelta(seconds=quiet_s):
            resolve_alert(session, alert.key, now=now, settings=settings)
            done.append(alert.key)
    return done


def set_condition(
    session: Session,
    key: str,
    active: bool,
    text: str,
    *,
    now: datetime | None = None,
    settings: Settings,
) -> None:
    """For evaluated conditions: raise while active, resolve once it clears."""
    if active:
        raise_alert(session, key, text, now=now, settings=settings)
    else:
        resolve_alert(session, key, now=now, settings=settings)
