"""Vacuuming the pipeline's tables when PostgreSQL's autovacuum is off.

Every event is written more than once (inserted, its outcome, its live cursor), and
orders, payments, receipts and notifications change state: each change leaves a dead
row version behind. Autovacuum clears them; with it off they pile up, and every index
scan and insert walks past them. Measured on the soak benchmark (300 payments/s): with
autovacuum off the workers fell from 300 to about 160 events/s within four minutes;
with it on they kept up. A server configured that way is not ours to change, so the
worker vacuums the tables that need it (mode `auto`), or always (`always`, for a server
whose autovacuum falls behind), or never.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal

from loguru import logger
from sqlalchemy import Engine

from pipeline import metrics
from pipeline.upkeep import repository

VacuumMode = Literal["auto", "always", "never"]

# A table is vacuumed once its dead rows pass both: a floor, so a small table is not
# vacuumed every run, and a share of its live rows, so a large one is vacuumed before
# its scans slow down (autovacuum's default share is 0.2, too late for an inbox).
MIN_DEAD_ROWS = 1000
DEAD_SHARE = 0.05


@dataclass
class UpkeepResult:
    autovacuum: bool
    vacuumed: list[tuple[str, int]] = field(default_factory=list)  # (table, dead rows)


def wants_vacuum(mode: VacuumMode, autovacuum: bool) -> bool:
    return mode == "always" or (mode == "auto" and not autovacuum)


def needs_vacuum(rows: repository.TableRows) -> bool:
    return rows.dead >= max(MIN_DEAD_ROWS, DEAD_SHARE * rows.live)


class TableUpkeep:
    def __init__(self, engine: Engine, tables: Collection[str], mode: VacuumMode) -> None:
        self.engine = engine
        self.tables = frozenset(tables)
        self.mode = mode
        self._warned = False

    def run(self) -> UpkeepResult:
        """Sample dead rows (metrics) and vacuum the tables past the threshold."""
        autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        with autocommit.connect() as conn:
            result = UpkeepResult(autovacuum=repository.autovacuum_on(conn))
            tables = repository.table_rows(conn, self.tables)
            for table in tables:
                metrics.TABLE_DEAD_ROWS.labels(table.name).set(table.dead)
            self.warn_if_off(result.autovacuum)
            if not wants_vacuum(self.mode, result.autovacuum):
                return result
            for table in tables:
                if needs_vacuum(table):
                    repository.vacuum(conn, table.name)
                    result.vacuumed.append((table.name, table.dead))
        if result.vacuumed:
            logger.info(
                "vacuumed {}",
                ", ".join(f"{name} ({dead} dead rows)" for name, dead in result.vacuumed),
            )
        return result

    def warn_if_off(self, autovacuum: bool) -> None:
        """Once per process: an operator should know their server is set up this way."""
        if autovacuum or self._warned or self.mode == "never":
            return
        self._warned = True
        logger.warning(
            "PostgreSQL's autovacuum is off: the worker vacuums the pipeline's tables "
            "itself (DB_VACUUM={}); turn autovacuum on in postgresql.conf",
            self.mode,
        )
