"""The outbox's SQL: notification rows added once per dedup key, one or many at a time."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy.orm import Session

from schema.unnest import column_arrays, unnest_insert

COLUMNS = {
    "dedup_key": "varchar",
    "chat_id": "bigint",
    "kind": "varchar",
    "user_id": "bigint",
    "template": "varchar",
    "params": "jsonb",
    "text": "text",
}
INSERT = unnest_insert(
    "notifications", COLUMNS, "ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key, id"
)


def insert_notifications(session: Session, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Add the rows whose dedup key is new, in one statement: {dedup key: id} of those."""
    unique = [
        {**row, "params": json.dumps(row.get("params") or {})}
        for row in {row["dedup_key"]: row for row in rows}.values()
    ]
    if not unique:
        return {}
    found = session.execute(INSERT, column_arrays(unique, COLUMNS))
    return {str(key): cast(int, id_) for key, id_ in found}
