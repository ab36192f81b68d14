"""Console pages over plain HTTP: permissions, CSRF, lenient filters, htmx partials."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.console.pages import ROUTERS
from schema.events import Event
from tests.api.console.conftest import signed_in
from tests.api.console.support import Operator, add_event

PAGES = ["/admin/", "/admin/events", "/admin/providers", "/admin/sessions"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_needs_a_login(console_client: TestClient, path: str) -> None:
    answer = console_client.get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")


@pytest.mark.parametrize("path", PAGES)
def test_a_viewer_sees_every_page(
    console_client: TestClient, operator: Callable[..., Operator], path: str
) -> None:
    page = signed_in(console_client, operator("viewer")).get(path)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text


def test_a_viewer_may_not_replay_or_retry(
    console_client: TestClient,
    operator: Callable[..., Operator],
    db: sessionmaker[Session],
    engine: Engine,
) -> None:
    event_id = add_event(db, engine, status="dead")
    who = operator("viewer")
    client = signed_in(console_client, who)
    page = client.get(f"/admin/events/{event_id}")
    assert page.status_code == 200 and 'data-test="replay"' not in page.text
    assert 'data-test="bulk-retry"' not in client.get("/admin/events?status=dead").text
    form = {"csrf_token": who.csrf, "status": "dead"}
    assert client.post(f"/admin/events/{event_id}/replay", data=form).status_code == 403
    assert client.post("/admin/events/retry", data=form).status_code == 403
    assert client.get("/admin/events/retry?status=dead").status_code == 403
    htmx = client.post(
        f"/admin/events/{event_id}/replay",
        headers={"HX-Request": "true", "X-CSRF-Token": who.csrf},
    )
    assert htmx.status_code == 403 and "toast" in htmx.headers["hx-trigger"]
    with db() as session:
        assert session.get_one(Event, event_id).status == "dead"


def test_changes_without_a_csrf_token_are_refused(
    console_client: TestClient,
    operator: Callable[..., Operator],
    db: sessionmaker[Session],
    engine: Engine,
) -> None:
    event_id = add_event(db, engine, status="dead")
    who = operator("operator")
    client = signed_in(console_client, who)
    assert 'data-test="replay"' in client.get(f"/admin/events/{event_id}").text
    for form in ({}, {"csrf_token": "0" * 64}, {"csrf_token": operator("operator").csrf}):
        answer = client.post(f"/admin/events/{event_id}/replay", data=form)
        assert answer.status_code == 403, form
    answer = client.post("/admin/events/retry", data={"status": "dead"})
    assert answer.status_code == 403
    with db() as session:
        assert session.get_one(Event, event_id).status == "dead"


def test_replay_without_a_broker_says_so(
    console_client: TestClient,
    operator: Callable[..., Operator],
    db: sessionmaker[Session],
    engine: Engine,
) -> None:
    event_id = add_event(db, engine, status="dead")
    who = operator("operator")
    client = signed_in(console_client, who)
    answer = client.post(f"/admin/events/{event_id}/replay", data={"csrf_token": who.csrf})
    assert answer.status_code == 503 and "BROKER_URL" in answer.text
    with db() as session:
        assert session.get_one(Event, event_id).status == "dead"


def test_bulk_retry_counts_first_and_needs_dead_or_failed(
    console_client: TestClient,
    operator: Callable[..., Operator],
    db: sessionmaker[Session],
    engine: Engine,
) -> None:
    for source in ("stripe", "stripe", "telegram"):
        add_event(db, engine, source=source, status="dead", payload={"note": "100% off_sale"})
    who = operator("operator")
    client = signed_in(console_client, who)
    preview = client.get("/admin/events/retry?status=dead&source=stripe&q=100%25 off_")
    assert preview.status_code == 200 and "2 dead events match" in preview.text
    assert 'name="expected" value="2"' in preview.text
    nothing = client.get("/admin/events/retry?status=processed")
    assert "dead or failed events first" in nothing.text
    refused = client.post("/admin/events/retry", data={"csrf_token": who.csrf, "status": ""})
    assert refused.status_code == 422


def test_bad_filters_are_reported_not_crashed(
    console_client: TestClient,
    operator: Callable[..., Operator],
    db: sessionmaker[Session],
    engine: Engine,
) -> None:
    add_event(db, engine)
    client = signed_in(console_client, operator("viewer"))
    page = client.get("/admin/events?status=bogus&since=yesterday&q=x&type=" + "t" * 300)
    assert page.status_code == 200
    for said in ("unknown status", "since is not a date", "at least 2 characters", "longer than"):
        assert said in page.text
    assert client.get("/admin/events?before=abc&range=99y").status_code == 200
    assert client.get("/admin/events/999999999").status_code == 404
    assert client.get("/admin/?window=year").status_code == 200


def test_the_filter_form_gets_only_the_table_from_htmx(
    console_client: TestClient,
    operator: Callable[..., Operator],
    db: sessionmaker[Session],
    engine: Engine,
) -> None:
    wanted = add_event(db, engine, external_id="evt_wanted", payload={"email": "a@b.c"})
    add_event(db, engine, external_id="evt_other")
    client = signed_in(console_client, operator("viewer"))
    headers = {"HX-Request": "true", "HX-Target": "events-results"}
    partial = client.get("/admin/events?q=a@b.c", headers=headers)
    assert partial.status_code == 200 and "<html" not in partial.text
    assert f'data-event="{wanted}"' in partial.text and "evt_other" not in partial.text


def test_every_console_change_needs_the_csrf_token(
    console_client: TestClient, operator: Callable[..., Operator]
) -> None:
    """Every POST/PUT/PATCH/DELETE under /admin, present and future, refuses a request
    without the token, whatever the caller may do (an admin here)."""
    client = signed_in(console_client, operator("admin"))
    changing = [
        (method, route.path)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in (route.methods or set()) - {"GET", "HEAD"}
    ]
    assert len(changing) >= 6
    for method, path in changing:
        url = re.sub(r"\{[^}]+\}", "1", path)
        answer = client.request(method, url, data={"status": "dead", "email": "a@b.c"})
        assert answer.status_code == 403, (method, path, answer.status_code)
