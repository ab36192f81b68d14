"""Table upkeep against real PostgreSQL: dead rows counted, vacuumed past the threshold."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from pipeline import metrics
from pipeline.upkeep import repository
from pipeline.upkeep.service import MIN_DEAD_ROWS, TableUpkeep, needs_vacuum, wants_vacuum
from schema import Base
from tests.support.logs import log_records


def make_dead_rows(db: sessionmaker[Session], count: int) -> None:
    """`count` users, each updated once: `count` dead row versions in `users`."""
    with db() as session:
        session.execute(
            text(
                "INSERT INTO users (telegram_id, chat_id, language) "
                "SELECT g, g, 'en' FROM generate_series(1, :n) g"
            ),
            {"n": count},
        )
        session.execute(text("UPDATE users SET language = 'ru'"))
        # Statistics reach the server at the end of a transaction at most once a second;
        # this one's go at its commit.
        session.execute(text("SELECT pg_stat_force_next_flush()"))
        session.commit()


def users_rows(engine: Engine) -> repository.TableRows:
    with engine.connect() as conn:
        [rows] = repository.table_rows(conn, {"users"})
    return rows


def wait_for(engine: Engine, check: Callable[[repository.TableRows], bool]) -> repository.TableRows:
    deadline = time.monotonic() + 30
    while True:
        rows = users_rows(engine)
        if check(rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def server_autovacuum(engine: Engine) -> bool:
    with engine.connect() as conn:
        return repository.autovacuum_on(conn)


def test_dead_rows_past_the_threshold_are_vacuumed(
    db: sessionmaker[Session], engine: Engine
) -> None:
    make_dead_rows(db, MIN_DEAD_ROWS + 500)
    before = wait_for(engine, lambda r: r.dead >= MIN_DEAD_ROWS + 500)
    assert before.dead >= MIN_DEAD_ROWS + 500

    result = TableUpkeep(engine, {"users", "orders"}, "always").run()

    assert [name for name, _ in result.vacuumed] == ["users"]  # orders has none
    after = wait_for(engine, lambda r: r.dead == 0)
    assert after.dead == 0
    assert after.live == MIN_DEAD_ROWS + 500  # VACUUM (ANALYZE) counted them again
    sampled = metrics.TABLE_DEAD_ROWS.labels("users")._value.get()
    assert sampled >= MIN_DEAD_ROWS + 500  # the figure before the vacuum


def test_a_few_dead_rows_are_left_for_later(db: sessionmaker[Session], engine: Engine) -> None:
    make_dead_rows(db, 50)
    assert wait_for(engine, lambda r: r.dead >= 50).dead >= 50

    result = TableUpkeep(engine, {"users"}, "always").run()

    assert result.vacuumed == []
    assert users_rows(engine).dead >= 50


def test_never_only_samples(db: sessionmaker[Session], engine: Engine) -> None:
    make_dead_rows(db, MIN_DEAD_ROWS + 10)
    wait_for(engine, lambda r: r.dead >= MIN_DEAD_ROWS + 10)

    result = TableUpkeep(engine, {"users"}, "never").run()

    assert result.vacuumed == []
    assert metrics.TABLE_DEAD_ROWS.labels("users")._value.get() >= MIN_DEAD_ROWS + 10
    assert users_rows(engine).dead >= MIN_DEAD_ROWS + 10


def test_auto_vacuums_only_where_the_server_does_not(
    db: sessionmaker[Session], engine: Engine
) -> None:
    make_dead_rows(db, MIN_DEAD_ROWS + 10)
    wait_for(engine, lambda r: r.dead >= MIN_DEAD_ROWS + 10)
    autovacuum = server_autovacuum(engine)

    result = TableUpkeep(engine, {"users"}, "auto").run()

    assert result.autovacuum is autovacuum
    assert bool(result.vacuumed) is not autovacuum


def test_the_server_switch_is_read_from_the_server(engine: Engine) -> None:
    with engine.connect() as conn:
        shown = conn.execute(text("SHOW autovacuum")).scalar()
    assert server_autovacuum(engine) is (shown == "on")


@pytest.mark.parametrize(
    ("mode", "autovacuum", "vacuums"),
    [
        ("auto", True, False),
        ("auto", False, True),
        ("always", True, True),
        ("always", False, True),
        ("never", True, False),
        ("never", False, False),
    ],
)
def test_modes(mode: str, autovacuum: bool, vacuums: bool) -> None:
    assert wants_vacuum(mode, autovacuum) is vacuums  # type: ignore[arg-type]


def test_the_threshold_grows_with_the_table() -> None:
    assert not needs_vacuum(repository.TableRows("events", 0, MIN_DEAD_ROWS - 1))
    assert needs_vacuum(repository.TableRows("events", 0, MIN_DEAD_ROWS))
    assert not needs_vacuum(repository.TableRows("events", 1_000_000, 49_999))
    assert needs_vacuum(repository.TableRows("events", 1_000_000, 50_000))


def test_autovacuum_off_is_said_once_per_process(engine: Engine) -> None:
    upkeep = TableUpkeep(engine, {"users"}, "auto")
    with log_records("WARNING") as records:
        upkeep.warn_if_off(autovacuum=False)
        upkeep.warn_if_off(autovacuum=False)
        upkeep.warn_if_off(autovacuum=True)
    said = [r["message"] for r in records]
    assert len(said) == 1
    assert "autovacuum is off" in said[0]


def test_the_worker_task_keeps_every_table_of_the_schema(
    db: sessionmaker[Session], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.settings import get_settings
    from workers.celery_app import app
    from workers.tasks.maintenance import vacuum_tables

    monkeypatch.setenv("DB_VACUUM", "always")
    get_settings.cache_clear()
    app.reset_runtime()
    try:
        make_dead_rows(db, MIN_DEAD_ROWS + 10)
        wait_for(engine, lambda r: r.dead >= MIN_DEAD_ROWS + 10)
        assert app.runtime.upkeep.tables == set(Base.metadata.tables)
        assert vacuum_tables() == ["users"]
    finally:
        app.reset_runtime()


def test_beat_runs_it_on_the_maintenance_queue() -> None:
    from pipeline.messaging.queues import MAINTENANCE, TASK_VACUUM_TABLES, queue_name
    from pipeline.settings import get_settings
    from workers.celery_app import VACUUM_TABLES_EVERY_S, celery_config

    config = celery_config(get_settings())
    assert config["beat_schedule"]["vacuum-tables"] == {
        "task": TASK_VACUUM_TABLES,
        "schedule": VACUUM_TABLES_EVERY_S,
    }
    assert config["task_routes"][TASK_VACUUM_TABLES] == {"queue": queue_name(MAINTENANCE)}
