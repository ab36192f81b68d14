"""The unit of work: commit then after-commit jobs; rollback and no jobs on error."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from pipeline.deps import Deps
from pipeline.unit_of_work import unit_of_work
from schema.staff import StaffUser


def count(db: sessionmaker[Session]) -> int:
    with db() as session:
        return int(session.scalar(select(func.count()).select_from(StaffUser)) or 0)


def test_commits_then_runs_jobs_that_see_the_committed_rows(db: sessionmaker[Session]) -> None:
    seen: list[int] = []
    with unit_of_work(db, Deps.build()) as uow:
        uow.session.add(StaffUser(email="a@example.com", role="viewer"))
        uow.after_commit(lambda: seen.append(count(db)))
        assert seen == []  # nothing runs before the commit
    assert seen == [1]


def test_an_error_rolls_back_and_runs_no_job(db: sessionmaker[Session]) -> None:
    ran: list[str] = []
    with pytest.raises(RuntimeError), unit_of_work(db, Deps.build()) as uow:
        uow.session.add(StaffUser(email="a@example.com", role="viewer"))
        uow.session.flush()
        uow.after_commit(lambda: ran.append("job"))
        raise RuntimeError("boom")
    assert ran == [] and count(db) == 0


def test_a_failing_job_does_not_stop_the_others(db: sessionmaker[Session]) -> None:
    ran: list[str] = []

    def broken() -> None:
        raise ValueError("job failed")

    with unit_of_work(db, Deps.build()) as uow:
        uow.after_commit(broken)
        uow.after_commit(lambda: ran.append("second"))
    assert ran == ["second"]


def test_a_failed_commit_runs_no_job(db: sessionmaker[Session]) -> None:
    ran: list[str] = []
    with pytest.raises(IntegrityError), unit_of_work(db, Deps.build()) as uow:
        # Both rows are sent at the commit, where the second breaks the unique e-mail.
        uow.session.add(StaffUser(email="same@example.com", role="viewer"))
        uow.session.add(StaffUser(email="same@example.com", role="viewer"))
        uow.after_commit(lambda: ran.append("job"))
    assert ran == [] and count(db) == 0


def test_adopted_jobs_run_after_the_commit_in_order(db: sessionmaker[Session]) -> None:
    ran: list[str] = []
    with unit_of_work(db, Deps.build()) as uow:
        uow.after_commit(lambda: ran.append("own"))
        uow.adopt([lambda: ran.append("adopted 1"), lambda: ran.append("adopted 2")])
        assert ran == []
    assert ran == ["own", "adopted 1", "adopted 2"]
