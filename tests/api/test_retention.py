"""Expired login codes and long-ended sessions are deleted; live ones stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.auth import codes, sessions, staff
from pipeline.auth.retention import purge_expired
from pipeline.settings import get_settings
from schema.staff import LoginCode, RefreshToken, StaffSession
from workers.celery_app import celery_config


def test_purge_keeps_what_is_live(db: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with db.begin() as session:
        account = staff.add_staff(session, "a@example.com", "viewer")
        codes.issue_code(session, "old@example.com", key="k", ttl_s=60, now=now - timedelta(days=2))
        codes.issue_code(session, "new@example.com", key="k", ttl_s=60, now=now)
        old = sessions.start_session(session, account, method="code", ttl_s=60,
                                     now=now - timedelta(days=10))  # fmt: skip
        revoked = sessions.start_session(session, account, method="code", ttl_s=86400 * 30)
        sessions.revoke_session(session, revoked.login, "logout")
        revoked.login.revoked_at = now - timedelta(days=8)
        live = sessions.start_session(session, account, method="code", ttl_s=86400 * 30)
    with db.begin() as session:
        assert purge_expired(session, now) == 3
    with db() as session:
        assert session.scalars(select(LoginCode.email)).all() == ["new@example.com"]
        assert session.scalars(select(StaffSession.id)).all() == [live.login.id]
        assert {t.session_id for t in session.scalars(select(RefreshToken))} == {live.login.id}
    assert old.login.id != live.login.id


def test_beat_runs_it_hourly() -> None:
    schedule = celery_config(get_settings())["beat_schedule"]
    assert schedule["prune-auth"] == {"task": "workers.prune_auth", "schedule": 3600.0}
