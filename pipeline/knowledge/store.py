"""FAQ entries: create, change, and import from a file (JSON or CSV); the repository
lists them. Callers commit."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pipeline.knowledge import repository
from schema.knowledge import KnowledgeEntry

LANGUAGES = ("ru", "en")


class BadEntry(ValueError):
    pass


@dataclass
class EntryFields:
    question: str
    answer: str
    language: str
    tags: list[str] = field(default_factory=list)
    active: bool = True

    def __post_init__(self) -> None:
        self.question, self.answer = self.question.strip(), self.answer.strip()
        if not self.question or not self.answer:
            raise BadEntry("question and answer must not be empty")
        if self.language not in LANGUAGES:
            raise BadEntry(f"language must be one of {', '.join(LANGUAGES)}")
        self.tags = [t.strip() for t in self.tags if t.strip()]


def create(session: Session, fields: EntryFields) -> KnowledgeEntry:
    entry = KnowledgeEntry(**fields.__dict__)
    session.add(entry)
    session.flush()
    return entry


def update(session: Session, entry: KnowledgeEntry, changes: dict[str, Any]) -> KnowledgeEntry:
    def pick(name: str, current: Any) -> Any:
        value = changes.get(name)
        return current if value is None else value

    checked = EntryFields(
        question=pick("question", entry.question),
        answer=pick("answer", entry.answer),
        language=pick("language", entry.language),
        tags=list(pick("tags", entry.tags)),
        active=bool(pick("active", entry.active)),
    )
    for key, value in checked.__dict__.items():
        setattr(entry, key, value)
    session.flush()
    return entry


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0


def import_entries(session: Session, items: Iterable[EntryFields]) -> ImportResult:
    """The same question in the same language updates its entry: re-importing a file is
    safe and edits answers in place."""
    result = ImportResult()
    for fields in items:
        existing = repository.entry_for_question(session, fields.language, fields.question)
        if existing is None:
            create(session, fields)
            result.created += 1
        else:
            update(session, existing, dict(fields.__dict__))
            result.updated += 1
    return result


def read_file(path: Path) -> list[EntryFields]:
    """A JSON list of {question, answer, language, tags?, active?}, or a CSV with those
    columns (tags separated by `;`). BadEntry names the bad item."""
    raw = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        rows: list[dict[str, Any]] = []
        for row in csv.DictReader(io.StringIO(raw)):
            tags = (row.get("tags") or "").split(";")
            active = (row.get("active") or "true").strip().lower() not in ("false", "0", "no")
            rows.append({**row, "tags": tags, "active": active})
    else:
        try:
            rows = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise BadEntry(f"not JSON: {exc}") from exc
        if not isinstance(rows, list):
            raise BadEntry("expected a JSON list of entries")
    out = []
    for number, row in enumerate(rows, 1):
        try:
            out.append(
                EntryFields(
                    question=str(row["question"]),
                    answer=str(row["answer"]),
                    language=str(row["language"]),
                    tags=list(row.get("tags") or []),
                    active=bool(row.get("active", True)),
                )
            )
        except (KeyError, TypeError, BadEntry) as exc:
            raise BadEntry(f"entry {number}: {exc}") from exc
    return out
