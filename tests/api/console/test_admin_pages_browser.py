"""The catalogue, staff, API-key, backup and alert pages in a real browser (Debian's
chromium) against the API served by uvicorn with real PostgreSQL, Redis and broker: a
backup started from the page is sent to the broker, run by the worker's own task and
followed on the page's progress bar to its new row; then verified the same way.
Screenshots (desktop and phone width) go to tests/artifacts/console/."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.runtime import ApiRuntime
from pipeline.backups.progress import Job, ProgressBoard
from pipeline.messaging.queues import MAINTENANCE
from pipeline.settings import get_settings
from schema.catalog import Product
from schema.operations import Alert, BackupRun
from tests.api.console.conftest import open_page
from tests.api.console.support import shot, start_session, wait_until
from tests.support.broker import take_tasks
from tests.support.services import TestServices


@pytest.fixture(autouse=True)
def worker_settings(
    services: TestServices, api_env: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[None]:
    """A broker for the pages to send to, and a backup directory for the worker's task."""
    from workers.celery_app import app as worker_app

    api_env.setenv("BROKER_URL", services.redis_url)
    api_env.setenv("BACKUP_DIR", str(tmp_path / "backups"))
    worker_app.reset_runtime()
    yield
    worker_app.reset_runtime()
    get_settings.cache_clear()


def run_task(name: str, args: list[Any]) -> Any:
    """The worker's task itself, run here (celery's local apply)."""
    from workers.tasks import backups

    task = {"workers.backup": backups.backup, "workers.verify_backup": backups.verify_backup}
    return task[name].apply(args=args).get(timeout=120)


def problems(page: Any, *refused: int) -> list[str]:
    """Script errors and requests to other origins, less the failed loads of forms this
    test meant to have refused (the browser logs those as errors too)."""
    expected = tuple(f"status of {status} " for status in refused)
    outside: list[str] = page.outside
    return outside + [e for e in page.errors if not any(x in e for x in expected)]


def confirm(page: Any) -> None:
    page.locator("#confirm-dialog [data-test=confirm-ok]").click()


def test_catalogue_create_edit_deactivate(
    browser: Any, console_url: str, served_runtime: ApiRuntime, db: sessionmaker[Session]
) -> None:
    editor = start_session(served_runtime, "operator")
    page = open_page(browser, console_url, editor, path="/admin/catalog")
    assert "No products yet" in page.inner_text("main")
    page.click("[data-test=new-product]")
    page.fill("input[name=code]", "consult-1h")
    page.fill("input[name=price]", "fifteen")
    page.fill("input[name=tr_ru_title]", "Консультация")
    page.fill("input[name=tr_en_title]", "Consultation")
    page.fill("textarea[name=tr_en_description]", "One hour with an expert.")
    page.fill("input[name=new_lang]", "de")
    page.fill("input[name=new_title]", "Beratung")
    page.click("[data-test=save]")
    error = page.locator("[data-test=form-error]")
    assert "Price: a number such as 1500.00 is needed" in error.inner_text()
    assert page.input_value("input[name=tr_ru_title]") == "Консультация"  # kept as typed
    shot(page, "catalog-form-error")
    page.fill("input[name=price]", "1500")
    page.click("[data-test=save]")
    page.locator("[data-product=consult-1h]").wait_for()
    assert "Product consult-1h created." in page.inner_text("#toasts")
    row = page.locator("[data-product=consult-1h]").inner_text()
    assert "1 500.00 RUB" in row and "on sale" in row and "de" in row
    for name in ("latte", "tea-set"):
        with db() as session:
            session.add(Product(code=name, title_ru=name, title_en=name.title(), price_minor=35000))
            session.commit()
    page.reload()
    shot(page, "catalog")

    page.locator("[data-product=consult-1h] a", has_text="Edit").click()
    page.fill("input[name=price]", "1990.50")
    page.fill("input[name=tr_de_title]", "Beratung (1 Stunde)")
    page.evaluate("window.scrollTo(0, 0)")  # else the sticky top bar lands mid-picture
    shot(page, "catalog-edit")
    page.click("[data-test=save]")
    page.locator("[data-product=consult-1h]").wait_for()
    assert "1 990.50 RUB" in page.locator("[data-product=consult-1h]").inner_text()

    page.locator("[data-product=latte] [data-test=deactivate]").click()
    confirm(page)
    wait_until(lambda: "deactivated" in page.locator("[data-product=latte]").inner_text())
    with db() as session:
        latte = session.scalars(select(Product).where(Product.code == "latte")).one()
        assert latte.is_active is False
        consult = session.scalars(select(Product).where(Product.code == "consult-1h")).one()
        assert consult.price_minor == 199050
        assert consult.translations["de"]["title"] == "Beratung (1 Stunde)"
    assert problems(page, 422) == []

    dark = open_page(browser, console_url, editor, path="/admin/catalog", dark=True)
    shot(dark, "catalog-dark")
    phone = open_page(browser, console_url, editor, path="/admin/catalog", phone=True)
    shot(phone, "catalog-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.goto(console_url + f"/admin/catalog/{consult.id}")
    shot(phone, "catalog-edit-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    viewer = open_page(browser, console_url, start_session(served_runtime, "viewer"),
                       path="/admin/catalog")  # fmt: skip
    assert viewer.locator("[data-test=new-product]").count() == 0
    assert viewer.locator("[data-test=deactivate]").count() == 0


def test_staff(browser: Any, console_url: str, served_runtime: ApiRuntime) -> None:
    admin = start_session(served_runtime, "admin", "boss@example.com")
    start_session(served_runtime, "viewer", "viewer@example.com")
    page = open_page(browser, console_url, admin, path="/admin/staff")
    page.fill("[data-test=add-staff] input[name=email]", "new.operator@example.com")
    page.select_option("[data-test=add-staff] select[name=role]", "operator")
    page.click("[data-test=add-staff] button")
    row = page.locator('[data-staff="new.operator@example.com"]')
    row.wait_for()
    assert "never" in row.inner_text()
    page.fill("[data-test=add-staff] input[name=email]", "new.operator@example.com")
    page.click("[data-test=add-staff] button")
    assert "already exists" in page.locator("[data-test=form-error]").inner_text()
    shot(page, "staff-error")

    viewer_row = page.locator('[data-staff="viewer@example.com"]')
    viewer_row.locator("select[name=role]").select_option("operator")
    viewer_row.locator("[data-test=change-role]").click()
    wait_until(lambda: "viewer@example.com is now operator." in page.inner_text("#toasts"))
    page.locator('[data-staff="viewer@example.com"] [data-test=revoke-sessions]').click()
    confirm(page)
    wait_until(lambda: "1 session(s) of viewer@example.com ended." in page.inner_text("#toasts"))
    page.locator('[data-staff="new.operator@example.com"] [data-test=deactivate]').click()
    confirm(page)
    wait_until(
        lambda: (
            "deactivated" in page.locator('[data-staff="new.operator@example.com"]').inner_text()
        )
    )
    shot(page, "staff")
    phone = open_page(browser, console_url, admin, path="/admin/staff", phone=True)
    shot(phone, "staff-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems(page, 409) == []


def test_api_keys(browser: Any, console_url: str, served_runtime: ApiRuntime) -> None:
    admin = start_session(served_runtime, "admin", "boss@example.com")
    page = open_page(browser, console_url, admin, path="/admin/apikeys")
    page.click("[data-test=create]")  # no name: the browser's own check stops it
    assert page.locator("[data-test=form-error]").count() == 0
    page.fill("[data-test=create-key] input[name=name]", "grafana exporter")
    page.click("[data-test=create]")  # no scope: refused by the server, said in the page
    assert "Scopes: List should have at least 1 item" in page.inner_text("[data-test=form-error]")
    assert page.input_value("[data-test=create-key] input[name=name]") == "grafana exporter"
    page.check('input[name="scope:stats:read"]')
    page.check('input[name="scope:events:read"]')
    page.click("[data-test=create]")
    secret = page.locator("[data-test=secret]").inner_text()
    assert secret.startswith("pk_")
    shot(page, "apikeys-created")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("[data-test=copy]")
    wait_until(lambda: page.inner_text("[data-test=copy]") == "Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    row = page.locator('[data-key="grafana exporter"]')
    assert "never" in row.inner_text() and "stats:read" in row.inner_text()
    page.goto(console_url + "/admin/apikeys")
    assert secret not in page.content() and page.locator("[data-test=secret]").count() == 0
    shot(page, "apikeys")
    phone = open_page(browser, console_url, admin, path="/admin/apikeys", phone=True)
    shot(phone, "apikeys-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator('[data-key="grafana exporter"] [data-test=revoke]').click()
    confirm(page)
    wait_until(lambda: "revoked" in page.inner_text("#toasts"))
    assert page.locator('[data-key="grafana exporter"]').count() == 0
    assert problems(page, 422) == []


def test_backup_and_verify_with_progress(
    browser: Any, console_url: str, served_runtime: ApiRuntime, services: TestServices,
    db: sessionmaker[Session],
) -> None:  # fmt: skip
    take_tasks(services.redis_url, MAINTENANCE)  # nothing left from elsewhere
    admin = start_session(served_runtime, "admin")
    page = open_page(browser, console_url, admin, path="/admin/backups")
    assert "No backup has run yet" in page.inner_text("main")
    page.click("[data-test=start-backup]")
    job = page.locator(".job").first
    job.wait_for()
    assert job.get_attribute("data-state") == "queued"
    assert page.get_attribute("#backup-jobs", "data-polling") == "yes"
    shot(page, "backups-queued")
    ((name, args),) = take_tasks(services.redis_url, MAINTENANCE)
    assert name == "workers.backup" and args == [job.get_attribute("data-job")]

    # A job half way, as the worker reports it (a real dump of the test database is too
    # quick to catch mid-way): the bar follows it.
    board = ProgressBoard(served_runtime.redis, served_runtime.settings.queue_prefix)
    staged = board.tracker(Job(id="staged", kind="verify", run_id=7))
    staged.phase("restoring into a scratch database", 41, 100)
    wait_until(lambda: page.locator("[data-job=staged] progress").get_attribute("value") == "41")
    shot(page, "backups-progress")
    staged.finish()

    path = run_task(name, args)
    assert path and Path(path).exists()
    wait_until(lambda: page.get_attribute("#backup-jobs", "data-polling") == "no")
    done = page.locator(f"[data-job='{args[0]}']")
    assert done.get_attribute("data-state") == "done"
    assert done.locator("progress").get_attribute("value") == "100"
    with db() as session:
        run = session.scalars(select(BackupRun)).one()
    assert page.locator(f"[data-run='{run.id}']").count() == 1

    page.locator(f"[data-run='{run.id}'] [data-test=verify]").click()
    wait_until(lambda: page.locator(".job[data-state=queued]").count() == 1)
    ((name, args),) = take_tasks(services.redis_url, MAINTENANCE)
    assert name == "workers.verify_backup" and args[0] == run.id
    threading.Thread(target=run_task, args=(name, args), daemon=True).start()
    wait_until(lambda: "verified" in page.locator(f"[data-run='{run.id}']").inner_text(), 120)
    shot(page, "backups")
    phone = open_page(browser, console_url, admin, path="/admin/backups", phone=True, dark=True)
    shot(phone, "backups-phone-dark")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems(page) == []

    viewer = open_page(browser, console_url, start_session(served_runtime, "viewer"),
                       path="/admin/backups")  # fmt: skip
    assert viewer.locator("[data-test=start-backup]").count() == 0
    assert viewer.locator("[data-test=verify]").count() == 0


def test_alerts(browser: Any, console_url: str, served_runtime: ApiRuntime,
                db: sessionmaker[Session]) -> None:  # fmt: skip
    now = datetime.now(UTC)
    with db() as session:
        session.add_all([
            Alert(key="event_dead:stripe", status="firing", total=3, first_at=now, last_at=now,
                  text="stripe event went dead (id 812, payment_intent.succeeded): "
                       "handler raised KeyError 'order'\n"
                       "replay: pipeline events retry --status dead --source stripe"),
            Alert(key="queue_backlog:ingest", status="firing", total=1, first_at=now,
                  last_at=now, text="ingest: 1840 messages waiting, the oldest 6 min"),
            Alert(key="prometheus:TargetDown:9f2", status="resolved", total=2, first_at=now,
                  last_at=now, resolved_at=now,
                  text="Prometheus TargetDown (critical): receiver is down\n"
                       "runbook: https://docs.example.com/operations/alerts/#targetdown"),
        ])  # fmt: skip
        session.commit()
    viewer = start_session(served_runtime, "viewer")
    page = open_page(browser, console_url, viewer, path="/admin/alerts")
    assert "2 firing." in page.inner_text("main")
    link = page.locator('[data-alert="prometheus:TargetDown:9f2"] [data-test=runbook]')
    assert link.get_attribute("href") == "https://docs.example.com/operations/alerts/#targetdown"
    book = page.locator('[data-alert="event_dead:stripe"] [data-test=runbook]').inner_text()
    assert book.split() == ["docs/operations/alerts.md", "#events-going-dead"]
    shot(page, "alerts")
    page.click(".segmented a[href='/admin/alerts?show=active']")
    wait_until(lambda: page.locator("[data-alert]").count() == 2)
    phone = open_page(browser, console_url, viewer, path="/admin/alerts", phone=True)
    shot(phone, "alerts-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert problems(page) == []
