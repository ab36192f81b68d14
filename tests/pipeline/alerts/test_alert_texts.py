"""Alert texts in the operators' language (ALERT_LOCALE), with the plural form of each
count; a language without a catalogue reads English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.alerts import raise_alert, resolve_alert
from pipeline.alerts.checks import check_backups, check_heartbeat, check_signatures
from pipeline.alerts.outage import DatabaseOutage
from pipeline.alerts.texts import NP_, alert_language, say_n
from pipeline.settings import Settings
from schema.messaging import Notification

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
OCCURRENCES = NP_("{count} occurrence", "{count} occurrences")


def messages(db: sessionmaker[Session]) -> list[str]:
    with db() as session:
        rows = session.scalars(select(Notification).order_by(Notification.id))
        return [r.text or "" for r in rows if r.kind == "alert"]


def test_the_locale_defaults_to_english_and_falls_back_to_it() -> None:
    assert Settings(_env_file=None).alert_locale == "en"  # type: ignore[call-arg]
    assert alert_language(Settings(alert_locale="ru")) == "ru"
    assert alert_language(Settings(alert_locale="de")) == "en"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", ["1 occurrence", "2 occurrences", "5 occurrences", "1,000 occurrences"]),
        ("ru", ["1 случай", "2 случая", "5 случаев", "1\u00a0000 случаев"]),
    ],
)
def test_counts_take_the_languages_plural_forms(lang: str, expected: list[str]) -> None:
    settings = Settings(alert_locale=lang)
    assert [say_n(settings, OCCURRENCES, n) for n in (1, 2, 5, 1000)] == expected


def test_folded_repeats_and_the_resolve_in_russian(db: sessionmaker[Session]) -> None:
    settings = Settings(alert_chat_id=-500, alert_cooldown_s=600, alert_locale="ru")
    with db() as session:
        for minute in (0, 1, 11, 12):  # the second folded into the third, the fourth folded
            at = T0 + timedelta(minutes=minute)
            raise_alert(session, "k", "диск заполнен", now=at, settings=settings)
        resolve_alert(session, "k", now=T0 + timedelta(minutes=20), settings=settings)
        session.commit()
    texts = messages(db)
    assert texts[1] == "🔴 диск заполнен\n[k] повторилось ещё 2 раза с 2026-01-01 12:00 UTC"
    assert texts[2] == (
        "✅ решено через 20 мин (4 случая, 1 повтор без сообщения): диск заполнен\n[k]"
    )


def test_the_checks_speak_the_operators_language(db: sessionmaker[Session]) -> None:
    settings = Settings(
        alert_chat_id=-500, alert_locale="ru", alert_signature_failures=1, backup_max_age_h=24
    )
    with db() as session:
        check_heartbeat(session, settings, None)
        check_signatures(session, settings, {"stripe": 21})
        check_backups(session, settings)  # never backed up: not overdue, nothing sent
        session.commit()
    texts = messages(db)
    assert texts[0] == "🔴 нет пульса воркеров (ни разу не было)\n[worker_heartbeat]"
    assert texts[1].startswith("🔴 stripe: 21 вебхук с неверной подписью за ~5 мин")
    assert len(texts) == 2


def test_the_database_outage_alert_in_russian() -> None:
    sent: list[str] = []
    outage = DatabaseOutage(
        Settings(alert_locale="ru", redis_url=None),
        send=lambda _settings, text: sent.append(text),
    )
    assert outage._firing_text(12, "timeout").startswith("🔴 база данных недоступна 12 с;")
    assert outage._resolved_text(30).startswith("✅ решено: база данных снова доступна через 30 с")
    assert sent == []
