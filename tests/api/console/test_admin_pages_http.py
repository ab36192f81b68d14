"""The catalogue, staff, API-key, backup and alert pages over plain HTTP: who may see and
do what, CSRF on every change, bad input answered with a 4xx and its reason in the page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import unescape
from typing import cast

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.auth.login import log_in
from api.runtime import ApiRuntime
from pipeline.auth import apikeys, staff
from pipeline.backups.progress import ProgressBoard
from pipeline.settings import Settings
from pipeline.unit_of_work import unit_of_work
from schema.catalog import Product
from schema.operations import Alert, BackupRun
from schema.staff import ApiKey, StaffSession, StaffUser
from tests.api.console.conftest import signed_in
from tests.api.console.support import Operator
from tests.support.services import TestServices

Make = Callable[..., Operator]
PRODUCT = {
    "code": "consult-1h",
    "price": "1500.00",
    "currency": "RUB",
    "stars_price": "",
    "vat": "none",
    "payment_object": "service",
    "is_active": "on",
    "image_url": "",
    "tr_ru_title": "Консультация",
    "tr_ru_description": "Час",
    "tr_en_title": "Consultation",
    "tr_en_description": "One hour",
}


@pytest.fixture(autouse=True)
def with_broker(services: TestServices, api_env: pytest.MonkeyPatch) -> None:
    api_env.setenv("BROKER_URL", services.redis_url)


def post(client: TestClient, who: Operator, path: str, **data: str) -> httpx.Response:
    # TestClient is typed against httpx2, which is not installed: its answers are Any.
    form = {"csrf_token": who.csrf, **data}
    response: httpx.Response = client.post(path, data=form, follow_redirects=False)
    return response


def as_(client: TestClient, who: Operator) -> TestClient:
    client.cookies.clear()
    return signed_in(client, who)


# --- Catalogue ---------------------------------------------------------------------------


def test_catalogue_roles_csrf_and_cache(
    console_client: TestClient, operator: Make, db: sessionmaker[Session]
) -> None:
    viewer, editor = operator("viewer"), operator("operator")
    client = as_(console_client, viewer)
    assert client.get("/admin/catalog").status_code == 200
    assert post(client, viewer, "/admin/catalog", **PRODUCT).status_code == 403
    assert client.get("/admin/catalog/new").status_code == 403

    client = as_(console_client, editor)
    cached = client.get("/api/v1/products")  # fills the cache the bot's reads share
    assert cached.status_code == 200 and cached.json() == []
    no_csrf = client.post("/admin/catalog", data=PRODUCT, follow_redirects=False)
    assert no_csrf.status_code == 403 and "security token" in no_csrf.text
    created = post(client, editor, "/admin/catalog", **PRODUCT)
    assert created.status_code == 303
    listed = client.get("/api/v1/products").json()  # invalidated by the page's write
    assert [(p["code"], p["price_minor"]) for p in listed] == [("consult-1h", 150000)]
    page = client.get("/admin/catalog")
    assert "Product consult-1h created." in page.text and "Consultation" in page.text

    with db() as session:
        product = session.scalars(select(Product)).one()
    edit = {**PRODUCT, "price": "1 990,50", "new_lang": "de", "new_title": "Beratung"}
    assert post(client, editor, f"/admin/catalog/{product.id}", **edit).status_code == 303
    (shown,) = client.get("/api/v1/products").json()
    assert shown["price_minor"] == 199050 and shown["translations"]["de"]["title"] == "Beratung"
    assert 'name="drop_de"' in client.get(f"/admin/catalog/{product.id}").text
    dropped = post(client, editor, f"/admin/catalog/{product.id}", **{**PRODUCT, "drop_de": "on"})
    assert dropped.status_code == 303
    (shown,) = client.get("/api/v1/products").json()
    assert set(shown["translations"]) == {"ru", "en"} and shown["price_minor"] == 150000
    refused = post(client, editor, f"/admin/catalog/{product.id}", **{**PRODUCT, "drop_en": "on"})
    assert refused.status_code == 422 and "The en translation cannot be removed" in refused.text
    off = post(client, editor, f"/admin/catalog/{product.id}/active", active="0")
    assert off.status_code == 303
    assert client.get("/api/v1/products").json() == []
    with db() as session:
        assert session.get(Product, product.id).is_active is False  # type: ignore[union-attr]
    assert (
        post(client, editor, f"/admin/catalog/{product.id}/active", active="1").status_code == 303
    )
    assert len(client.get("/api/v1/products").json()) == 1


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"price": "cheap"}, 422, "Price: a number such as 1500.00 is needed"),
        ({"price": "-1"}, 422, "Price: Input should be greater than or equal to 0"),
        ({"price": "1.005"}, 422, "Price: at most two decimals"),
        ({"stars_price": "many"}, 422, "Stars price: a whole number is needed"),
        ({"code": "has space"}, 422, "Code: String should match pattern"),
        ({"tr_en_title": ""}, 422, "Title (en): String should have at least 1 character"),
        ({"currency": "RUBLES"}, 422, "Currency: String should match pattern"),
        ({"image_url": "javascript:alert(1)"}, 422, "Image URL"),
        ({"new_lang": "Deutsch", "new_title": "x"}, 422, "Language Deutsch"),
    ],
)
def test_bad_product_input_is_explained_in_the_form(
    console_client: TestClient, operator: Make, change: dict[str, str], status: int, message: str
) -> None:
    editor = operator("operator")
    client = as_(console_client, editor)
    answer = post(client, editor, "/admin/catalog", **{**PRODUCT, **change})
    assert answer.status_code == status, answer.text
    assert 'data-test="form-error"' in answer.text and message in answer.text
    assert 'value="Консультация"' in answer.text  # kept as typed


def test_duplicate_code_and_missing_product(console_client: TestClient, operator: Make) -> None:
    editor = operator("operator")
    client = as_(console_client, editor)
    assert post(client, editor, "/admin/catalog", **PRODUCT).status_code == 303
    again = post(client, editor, "/admin/catalog", **PRODUCT)
    assert again.status_code == 409 and "A product with code 'consult-1h' exists." in unescape(
        again.text
    )
    assert client.get("/admin/catalog/999").status_code == 404
    assert post(client, editor, "/admin/catalog/999", **PRODUCT).status_code == 404
    assert post(client, editor, "/admin/catalog/999/active", active="0").status_code == 404


# --- Staff -------------------------------------------------------------------------------


def test_staff_is_for_admins(console_client: TestClient, operator: Make) -> None:
    for role in ("viewer", "operator"):
        who = operator(role)
        client = as_(console_client, who)
        assert client.get("/admin/staff").status_code == 403
        added = post(client, who, "/admin/staff", email="x@example.com", role="viewer")
        assert added.status_code == 403
        assert client.get("/admin/apikeys").status_code == 403
        assert (
            post(client, who, "/admin/apikeys", name="k", **{"scope:events:read": "on"}).status_code
            == 403
        )


def test_staff_add_change_deactivate_and_end_sessions(
    console_client: TestClient, operator: Make, db: sessionmaker[Session], api_runtime: ApiRuntime
) -> None:
    admin = operator("admin")
    client = as_(console_client, admin)
    assert (
        client.post("/admin/staff", data={"email": "a@example.com", "role": "viewer"}).status_code
        == 403
    )
    assert (
        post(client, admin, "/admin/staff", email="New.Op@Example.com", role="operator").status_code
        == 303
    )
    assert "new.op@example.com added as operator." in client.get("/admin/staff").text
    dup = post(client, admin, "/admin/staff", email="new.op@example.com", role="viewer")
    assert dup.status_code == 409 and "already exists" in dup.text
    bad = post(client, admin, "/admin/staff", email="not an address", role="viewer")
    assert bad.status_code == 422 and "E-mail: String should match pattern" in bad.text
    assert 'value="not an address"' in bad.text
    role = post(client, admin, "/admin/staff", email="z@example.com", role="root")
    assert role.status_code == 422 and "Role: Input should be" in role.text

    target = operator("operator")  # someone with a console session and an API login
    with unit_of_work(api_runtime.sessions, api_runtime.deps) as uow:
        account = staff.find_by_email(uow.session, target.email)
        assert account is not None
        target_id = account.id
        tokens = log_in(api_runtime, uow.session, account, "code")
    assert post(client, admin, f"/admin/staff/{target_id}/role", role="viewer").status_code == 303
    assert post(client, admin, f"/admin/staff/{target_id}/role", role="boss").status_code == 422

    ended = post(client, admin, f"/admin/staff/{target_id}/sessions/revoke")
    assert ended.status_code == 303
    with db() as session:
        logins = session.scalars(select(StaffSession).where(StaffSession.staff_id == target_id))
        assert all(login.revoked_reason == "admin" for login in logins)
    assert as_(console_client, target).get("/admin/", follow_redirects=False).status_code == 303
    console_client.cookies.clear()
    refresh = {"refresh_token": tokens.refresh_token}
    assert console_client.post("/api/v1/auth/refresh", json=refresh).status_code == 401
    bearer = {"Authorization": f"Bearer {tokens.access_token}"}
    assert console_client.get("/api/v1/auth/me", headers=bearer).status_code == 401

    client = as_(console_client, admin)
    assert post(client, admin, f"/admin/staff/{target_id}/active", active="0").status_code == 303
    with db() as session:
        assert session.get(StaffUser, target_id).active is False  # type: ignore[union-attr]
        me = session.scalars(select(StaffUser.id).where(StaffUser.email == admin.email)).one()
    myself = post(client, admin, f"/admin/staff/{me}/active", active="0")
    assert myself.status_code == 409 and "You cannot demote or deactivate yourself." in myself.text
    assert post(client, admin, f"/admin/staff/{me}/role", role="viewer").status_code == 409
    assert post(client, admin, "/admin/staff/99999/role", role="viewer").status_code == 404
    # Ending one's own sessions ends this one too: back to the login page.
    own = post(client, admin, f"/admin/staff/{me}/sessions/revoke")
    assert own.headers["location"] == "/admin/login"
    assert client.get("/admin/staff", follow_redirects=False).status_code == 303


# --- API keys ----------------------------------------------------------------------------


def test_api_key_shown_once_scoped_and_revoked(
    console_client: TestClient, operator: Make, db: sessionmaker[Session]
) -> None:
    admin = operator("admin")
    client = as_(console_client, admin)
    none = post(client, admin, "/admin/apikeys", name="exporter")
    assert none.status_code == 422 and "Scopes: List should have at least 1 item" in none.text
    blank = post(client, admin, "/admin/apikeys", name="   ", **{"scope:events:read": "on"})
    assert blank.status_code == 422 and "Name" in blank.text
    unknown = post(client, admin, "/admin/apikeys", name="x", **{"scope:root:all": "on"})
    assert unknown.status_code == 422 and "unknown scope" in unknown.text

    made = post(
        client,
        admin,
        "/admin/apikeys",
        name="exporter",
        **{"scope:events:read": "on", "scope:stats:read": "on"},
    )
    assert made.status_code == 201
    key = made.text.split('data-test="secret">')[1].split("<")[0]
    assert apikeys.looks_like_key(key)
    assert key not in client.get("/admin/apikeys").text  # never again
    machine = {"X-API-Key": key}
    console_client.cookies.clear()
    assert console_client.get("/api/v1/stats/events", headers=machine).status_code == 200
    assert console_client.get("/api/v1/orders", headers=machine).status_code == 403
    client = as_(console_client, admin)
    assert (
        "never"
        not in client.get("/admin/apikeys").text.split('data-key="exporter"')[1].split("</tr>")[0]
    )

    with db() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.name == "exporter")).one()
        assert row.scopes == ["events:read", "stats:read"] and row.key_hash != key
    assert client.post(f"/admin/apikeys/{row.id}/revoke", follow_redirects=False).status_code == 403
    assert post(client, admin, f"/admin/apikeys/{row.id}/revoke").status_code == 303
    console_client.cookies.clear()
    assert console_client.get("/api/v1/stats/events", headers=machine).status_code == 401
    client = as_(console_client, admin)
    assert 'data-key="exporter"' not in client.get("/admin/apikeys").text
    assert "revoked" in client.get("/admin/apikeys?revoked=1").text
    assert post(client, admin, "/admin/apikeys/99999/revoke").status_code == 404


# --- Backups and alerts ------------------------------------------------------------------


def test_backups_start_and_verify_are_for_admins(
    console_client: TestClient, operator: Make, db: sessionmaker[Session], api_runtime: ApiRuntime
) -> None:
    now = datetime.now(UTC)
    with db() as session:
        good = BackupRun(started_at=now, finished_at=now, ok=True, file="/backups/a.dump")
        bad = BackupRun(started_at=now, finished_at=now, ok=False, error="pg_dump failed")
        session.add_all([good, bad])
        session.commit()
        good_id, bad_id = good.id, bad.id
    for role in ("viewer", "operator"):
        who = operator(role)
        client = as_(console_client, who)
        page = client.get("/admin/backups")
        assert page.status_code == 200 and "pg_dump failed" in page.text
        assert "Back up now" not in page.text
        assert post(client, who, "/admin/backups").status_code == 403
        assert post(client, who, f"/admin/backups/{good_id}/verify").status_code == 403

    admin = operator("admin")
    client = as_(console_client, admin)
    assert client.post("/admin/backups", follow_redirects=False).status_code == 403  # no CSRF
    started = client.post(
        "/admin/backups", data={"csrf_token": admin.csrf}, headers={"HX-Request": "true"}
    )
    assert started.status_code == 200 and 'hx-trigger="every 1s"' in started.text
    assert "X-Console-Poll" in started.text  # timed polls leave the idle clock alone
    board = ProgressBoard(api_runtime.redis, api_runtime.settings.queue_prefix)
    (job,) = board.jobs()
    assert job.kind == "backup" and job.state == "queued"
    assert f'data-job="{job.id}"' in started.text
    missing = post(client, admin, "/admin/backups/99999/verify")
    assert missing.status_code == 404 and "No backup run 99999." in missing.text
    nofile = post(client, admin, f"/admin/backups/{bad_id}/verify")
    assert nofile.status_code == 409 and "has no file to verify" in nofile.text
    assert post(client, admin, f"/admin/backups/{good_id}/verify").status_code == 303
    assert {j.kind for j in board.jobs()} == {"backup", "verify"}


def test_backups_without_a_broker_say_so(operator: Make, api_settings: Settings) -> None:
    admin = operator("admin")
    no_broker = api_settings.model_copy(update={"broker_url": None})
    with TestClient(create_app(no_broker), base_url="http://localhost") as client:
        app = cast(FastAPI, client.app)
        assert app.state.runtime.deps.sender is None
        answer = post(signed_in(client, admin), admin, "/admin/backups")
    assert answer.status_code == 503 and "No broker configured (BROKER_URL)." in answer.text


def test_alerts_with_their_runbooks(
    console_client: TestClient, operator: Make, db: sessionmaker[Session]
) -> None:
    now = datetime.now(UTC)
    with db() as session:
        session.add_all([
            Alert(key="event_dead:stripe", status="firing", text="stripe event went dead",
                  total=3, first_at=now, last_at=now),
            Alert(key="prometheus:TargetDown:ab", status="resolved",
                  text="Prometheus TargetDown\nrunbook: https://wiki.example.com/target-down",
                  total=1, first_at=now, last_at=now, resolved_at=now),
        ])  # fmt: skip
        session.commit()
    client = as_(console_client, operator("viewer"))
    page = client.get("/admin/alerts")
    assert page.status_code == 200
    assert "docs/operations/alerts.md<br>#events-going-dead" in page.text
    assert 'href="https://wiki.example.com/target-down"' in page.text
    active = client.get("/admin/alerts?show=active").text
    assert "event_dead:stripe" in active and "TargetDown" not in active


def test_ids_that_are_not_ids_are_404_pages(console_client: TestClient, operator: Make) -> None:
    viewer, admin = operator("viewer"), operator("admin")
    client = as_(console_client, viewer)
    assert post(client, viewer, "/admin/staff/abc/role", role="viewer").status_code == 403
    client = as_(console_client, admin)
    for path in ("/admin/catalog/abc", "/admin/catalog/99999999999999999999", "/admin/catalog/0"):
        page = client.get(path)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert "There is no product" in unescape(page.text)
    for path in (
        "/admin/catalog/x/active",
        "/admin/staff/-1/role",
        "/admin/apikeys/1e3/revoke",
        "/admin/backups/one/verify",
    ):
        answer = post(client, admin, path, active="0", role="viewer")
        assert answer.status_code == 404 and "There is no" in answer.text, path
