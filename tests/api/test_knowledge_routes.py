"""The FAQ through the operator API (scopes, validation, search) and the CLI import."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from cli import app
from schema import KnowledgeEntry
from tests.api.conftest import bearer

ENTRY = {
    "question": "How long does delivery take?",
    "answer": "Delivery takes 3 to 5 business days.",
    "language": "en",
    "tags": ["delivery"],
}


def test_operators_manage_entries_and_viewers_read_them(
    api_client: TestClient, staff_token: Callable[..., str]
) -> None:
    operator, viewer = bearer(staff_token("operator")), bearer(staff_token("viewer"))
    created = api_client.post("/api/v1/knowledge", json=ENTRY, headers=operator)
    assert created.status_code == 201, created.text
    entry_id = created.json()["id"]
    assert api_client.post("/api/v1/knowledge", json=ENTRY, headers=viewer).status_code == 403
    changed = api_client.patch(
        f"/api/v1/knowledge/{entry_id}", json={"active": False, "tags": []}, headers=operator
    )
    assert changed.status_code == 200 and changed.json()["active"] is False
    listed = api_client.get("/api/v1/knowledge?language=en", headers=viewer).json()
    assert [(e["id"], e["tags"]) for e in listed] == [(entry_id, [])]
    assert api_client.get("/api/v1/knowledge?active=true", headers=viewer).json() == []
    assert api_client.delete(f"/api/v1/knowledge/{entry_id}", headers=operator).status_code == 204
    assert api_client.get(f"/api/v1/knowledge/{entry_id}", headers=viewer).status_code == 404


def test_bad_entries_are_a_clear_422(
    api_client: TestClient, staff_token: Callable[..., str]
) -> None:
    operator = bearer(staff_token("operator"))
    for body in (
        {**ENTRY, "language": "de"},
        {**ENTRY, "question": "   "},
        {**ENTRY, "unknown": 1},
        {**ENTRY, "tags": ["x" * 65]},
    ):
        answer = api_client.post("/api/v1/knowledge", json=body, headers=operator)
        assert answer.status_code == 422, body
    assert (
        api_client.get("/api/v1/knowledge/99999999999999999999", headers=operator).status_code
        == 422
    )


def test_search_shows_what_a_question_retrieves(
    api_client: TestClient, api_key: Callable[..., str]
) -> None:
    writer = bearer(api_key(["knowledge:read", "knowledge:write"]))
    api_client.post("/api/v1/knowledge", json=ENTRY, headers=writer)
    ru = {**ENTRY, "question": "Сколько идёт доставка?", "answer": "3–5 дней.", "language": "ru"}
    api_client.post("/api/v1/knowledge", json=ru, headers=writer)
    hits = api_client.get(
        "/api/v1/knowledge/search",
        params={"q": "when will my delivery arrive", "language": "en"},
        headers=writer,
    ).json()
    assert [h["title"] for h in hits] == [ENTRY["question"]] and 0 < hits[0]["score"] < 1
    hits = api_client.get(
        "/api/v1/knowledge/search",
        params={"q": "доставки сколько ждать", "language": "ru"},
        headers=writer,
    ).json()
    assert [h["ref"].split(":")[0] for h in hits] == ["faq"]


def test_cli_import_adds_then_updates(db: sessionmaker[Session], tmp_path: Path) -> None:
    file = tmp_path / "faq.json"
    file.write_text(json.dumps([ENTRY, {**ENTRY, "question": "Do you ship abroad?"}]))
    runner = CliRunner()
    first = runner.invoke(app, ["knowledge", "import", str(file)])
    assert first.exit_code == 0 and "2 added, 0 updated" in first.output, first.output
    file.write_text(json.dumps([{**ENTRY, "answer": "Two days."}]))
    again = runner.invoke(app, ["knowledge", "import", str(file)])
    assert "0 added, 1 updated" in again.output
    csv_file = tmp_path / "faq.csv"
    csv_file.write_text("question,answer,language,tags\nГде чек?,В чате.,ru,receipt;ru\n")
    assert "1 added" in runner.invoke(app, ["knowledge", "import", str(csv_file)]).output
    with db() as session:
        rows = session.execute(select(KnowledgeEntry).order_by(KnowledgeEntry.id)).scalars()
        assert [(r.answer, r.tags) for r in rows] == [
            ("Two days.", ["delivery"]),
            (ENTRY["answer"], ["delivery"]),
            ("В чате.", ["receipt", "ru"]),
        ]
    file.write_text(json.dumps([{"question": "x", "language": "en"}]))
    bad = runner.invoke(app, ["knowledge", "import", str(file)])
    assert bad.exit_code == 2 and "entry 1" in bad.output


def test_text_that_is_only_control_characters_is_a_422(
    api_client: TestClient, api_key: Callable[..., str]
) -> None:
    """U+001F passes the schema's Unicode trimming but not Python's strip: 422, not 500."""
    headers = {"X-API-Key": api_key(["knowledge:write", "knowledge:read"])}
    body = {"question": "\x1f", "answer": "ok", "language": "en"}
    response = api_client.post("/api/v1/knowledge", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
