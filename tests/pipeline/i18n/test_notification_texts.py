"""Workers' notifications read the same catalogues: each row is written in its user's
language when it is sent, the amount in that user's locale."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pipeline.i18n.formats import money_param
from pipeline.notifications.outbox import add_notification
from pipeline.notifications.sender import render_notification
from schema import Notification, User

NBSP = "\u00a0"


def test_each_user_reads_the_notification_in_their_language(db: sessionmaker[Session]) -> None:
    with db() as session:
        users = [
            User(telegram_id=n, chat_id=n, language=lang) for n, lang in ((1, "ru"), (2, "en"))
        ]
        session.add_all(users)
        session.flush()
        for user in users:
            add_notification(
                session,
                dedup_key=f"paid:{user.id}",
                chat_id=user.chat_id,
                user_id=user.id,
                kind="refund_done",
                template="refund_done",
                params={"order": "o-1", "amount": money_param(149000, "RUB")},
            )
        session.commit()
        notes = session.scalars(select(Notification).order_by(Notification.chat_id)).all()
        assert [render_notification(session, n, "en") for n in notes] == [
            f"Возврат 1{NBSP}490,00{NBSP}₽ по заказу o-1 выполнен.",
            f"Refund of RUB{NBSP}1,490.00 for order o-1 is done.",
        ]
