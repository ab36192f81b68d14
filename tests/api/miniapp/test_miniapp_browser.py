"""The Mini App in a real browser (Debian's chromium driven by Playwright): browse, add to
cart, check out with Stars against the fake Bot API, watch the order turn paid live when
Telegram's payment update is posted to the receiver and processed by the workers' event
service, see the receipt link, switch language,
dark theme. Screenshots go to tests/artifacts/miniapp/."""

from __future__ import annotations

import json
import shutil
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.app import create_app
from cli import app as cli
from pipeline.deps import Deps
from pipeline.domain.normalized import ReceiptEvent, ReceiptStatus
from pipeline.events.handlers import load_handler_modules
from pipeline.events.service import EventService, RetryPolicy
from pipeline.providers.registry import build_registry
from pipeline.receipts.service import on_receipt
from pipeline.settings import Settings, get_settings
from pipeline.unit_of_work import unit_of_work
from schema.catalog import Product
from schema.knowledge import KnowledgeEntry
from schema.orders import Payment, Receipt
from scripts.fakes.bot_api import FakeBotApiThread
from tests.api.miniapp.miniapp_support import add_products, bot_api, init_data
from tests.flows.conftest import payment_update
from tests.pipeline.providers.cases import TelegramCase
from tests.pipeline.providers.conftest import drain, running_receiver
from tests.support.server import running
from tests.support.services import TestServices

__all__ = ["bot_api"]  # the fixture, for pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "miniapp"
STAND_IN = (Path(__file__).parent / "telegram_stand_in.js").read_text()
TELEGRAM_JS = "https://telegram.org/js/telegram-web-app.js"
LIGHT = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#f0f0f0",
}
DARK = {
    "bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#232e3c",
    "hint_color": "#708499",
}
BUYER = 4242

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip("chromium is absent (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def app_url(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, api_settings: Settings
) -> Iterator[str]:
    add_products(db)
    with running(create_app(api_settings)) as ws_url:
        yield ws_url.replace("ws://", "http://")


@pytest.fixture
def broker(services: TestServices, api_env: pytest.MonkeyPatch, api_settings: Settings) -> str:
    """The receiver's broker (Redis) for the payment update; the queue prefix is this
    test's own (api_env), and the API was configured first."""
    api_env.setenv("BROKER_URL", services.redis_url)
    get_settings.cache_clear()
    return services.redis_url


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def open_app(browser: Any, url: str, scheme: str = "light", theme: dict[str, str] = LIGHT) -> Any:
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    config = {"initData": init_data(BUYER), "colorScheme": scheme, "themeParams": theme}
    script = STAND_IN.replace("__CONFIG__", json.dumps(config))
    page.route(
        TELEGRAM_JS, lambda route: route.fulfill(body=script, content_type="application/javascript")
    )
    outside: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(url) or r.url == TELEGRAM_JS else outside.append(r.url),
    )
    page.goto(url + "/app/")
    page.wait_for_selector("[data-product=tea]")
    page.outside = outside
    return page


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def wait_until(check: Callable[[], bool], timeout: float = 10) -> None:
    """Polled from here: the page's CSP forbids the eval behind `wait_for_function`."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def main_button(page: Any) -> None:
    page.evaluate("Telegram.WebApp.MainButton.click()")


def pay_in_telegram(db: sessionmaker[Session], public_id: str, broker_url: str) -> None:
    """Telegram's successful_payment update for the invoice, posted (with the webhook
    secret) to a real receiver on a real broker, then taken off the ingest queue and
    processed by the workers' event service, as a worker does."""
    paid = charge(public_id)
    update = payment_update(4_100_000, BUYER, "successful_payment", public_id, 50, paid)
    with running_receiver(broker_url) as (_, send):
        posted = send(TelegramCase().signed(orjson.dumps(update)))
    assert posted.status_code == 200, posted.text
    events = EventService(
        db,
        build_registry(get_settings()),
        load_handler_modules(grpc_sources=get_settings().grpc_sources),
        RetryPolicy(3),
        deps=Deps.build(),
    )
    stored = events.store(drain(broker_url))
    assert stored.stored == 1, stored
    result = events.process(stored.to_process)
    assert result.processed == stored.to_process, result


def charge(public_id: str) -> str:
    return f"stx-{public_id}"


def receipt_done(db: sessionmaker[Session], public_id: str, url: str) -> None:
    """A register's report that the receipt of the order's payment is fiscalised."""
    with unit_of_work(db, Deps.build()) as uow:
        payment = uow.session.scalars(
            select(Payment).where(Payment.provider_payment_id == charge(public_id))
        ).one()
        uow.session.add(
            Receipt(
                payment_id=payment.id,
                kind="sell",
                register="atol",
                external_id=f"r-{public_id}",
                status="wait",
                total_minor=100,
            )
        )
    event = ReceiptEvent(
        provider="atol",
        receipt_id=f"uuid-{public_id}",
        order_reference=public_id,
        payment_reference=f"r-{public_id}",
        status=ReceiptStatus.DONE,
        ofd_receipt_url=url,
    )
    with unit_of_work(db, Deps.build()) as uow:
        on_receipt(uow, event)


def test_buy_with_stars_and_follow_the_order_live(
    db: sessionmaker[Session],
    bot_api: FakeBotApiThread,
    app_url: str,
    browser: Any,
    broker: str,
) -> None:
    page = open_app(browser, app_url)
    shot(page, "1-catalogue")
    page.click("[data-product=tea] button.add")
    page.wait_for_selector("[data-product=tea] button.add >> text=In cart: 1")
    page.click("#tab-cart")
    page.wait_for_selector("input[value=stars]:checked")
    shot(page, "2-cart")
    main_button(page)  # "Check out"
    page.wait_for_selector("#order[data-status=pending]")
    public_id = page.text_content("#order h2").split()[-1]
    main_button(page)  # "Pay"
    wait_until(lambda: page.evaluate("window.__telegram.invoices.length") == 1)
    (call,) = bot_api.sent("createInvoiceLink")
    assert (call["payload"], call["currency"]) == (public_id, "XTR")
    page.wait_for_selector("body[data-live='1']")
    shot(page, "3-order-pending")

    pay_in_telegram(db, public_id, broker)
    page.wait_for_selector("#order[data-status=paid]", timeout=10_000)
    assert page.text_content("#status") == "paid"
    shot(page, "4-order-paid")

    receipt_done(db, public_id, "https://ofd.example/receipt/1")
    page.wait_for_selector("a.receipt", timeout=10_000)
    assert page.get_attribute("a.receipt", "href") == "https://ofd.example/receipt/1"
    assert page.text_content("#status") == "receipt issued"
    assert "success" in page.evaluate("window.__telegram.haptics")
    shot(page, "5-receipt")

    page.click("button[data-lang=ru]")
    page.wait_for_selector("#tab-catalog >> text=Каталог")
    assert page.text_content("#status") == "чек выдан"
    page.click("#tab-catalog")
    page.wait_for_selector("[data-product=tea] h2 >> text=Чай")
    shot(page, "6-russian")
    assert page.outside == [], "the page fetched something from outside besides Telegram's script"


def test_dark_theme_follows_telegram(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, app_url: str, browser: Any
) -> None:
    page = open_app(browser, app_url, "dark", DARK)
    assert page.evaluate("document.body.classList.contains('dark')")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(23, 33, 43)"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page must fit a phone's width"
    shot(page, "7-dark")


def test_a_dev_link_opens_the_app_outside_telegram(
    db: sessionmaker[Session],
    bot_api: FakeBotApiThread,
    app_url: str,
    browser: Any,
    api_env: pytest.MonkeyPatch,
) -> None:
    api_env.setenv("MINIAPP_URL", f"{app_url}/app/")
    printed = CliRunner().invoke(
        cli, ["miniapp", "dev-link", "--user-id", "99", "--language", "ru"]
    )
    assert printed.exit_code == 0, printed.output
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.route(TELEGRAM_JS, lambda route: route.abort())  # no Telegram, no internet
    page.goto(printed.output.strip())
    page.wait_for_selector("[data-product=tea] h2 >> text=Чай")
    shot(page, "8-dev-link")


def test_ask_the_shops_assistant(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, app_url: str, browser: Any
) -> None:
    with db() as session:
        session.add(
            KnowledgeEntry(
                question="How long does delivery take?",
                answer="Delivery takes 3 to 5 business days.",
                language="en",
                tags=[],
            )
        )
        session.commit()
    page = open_app(browser, app_url)
    page.click("#tab-feedback")
    page.fill("#ask-text", "how long does delivery take")
    page.click("#ask-send")
    page.wait_for_selector("#ask-answer[data-handed-off=false]")
    assert page.text_content("#ask-answer") == "Delivery takes 3 to 5 business days."
    shot(page, "9-assistant")
    page.fill("#ask-text", "Do you sell umbrellas?")
    page.click("#ask-send")
    page.wait_for_selector("#ask-answer[data-handed-off=true]")
    assert "operators" in page.text_content("#ask-answer")
    (relayed,) = bot_api.sent()
    assert "Do you sell umbrellas?" in relayed["text"]
    assert page.outside == []


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A small opaque PNG, made here so that no image file is kept in the repository."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_catalogue_photos_and_placeholders(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, app_url: str, browser: Any
) -> None:
    photo = "https://cdn.example.com/tea.png"
    with db() as session:
        tea = session.scalars(select(Product).where(Product.code == "tea")).one()
        tea.image_url = photo
        session.commit()
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    served: list[str] = []

    def cdn(route: Any) -> None:
        served.append(route.request.url)
        route.fulfill(body=solid_png(64, 48, (90, 140, 80)), content_type="image/png")

    page.route(photo, cdn)
    page.route(TELEGRAM_JS, lambda route: route.abort())
    page.goto(f"{app_url}/app/#tgWebAppData={quote(init_data(BUYER), safe='')}")
    page.wait_for_selector("[data-product=tea] img.photo")
    img = "[data-product=tea] img.photo"
    assert page.get_attribute(img, "alt") == "Tea"
    assert page.get_attribute(img, "loading") == "lazy"
    wait_until(lambda: page.evaluate(f"document.querySelector('{img}').naturalWidth") == 64)
    assert served == [photo]
    placeholder = page.query_selector("[data-product=mug] .photo.placeholder")
    assert placeholder is not None and placeholder.get_attribute("aria-label") == "Mug"
    assert page.query_selector("[data-product=mug] img") is None
    shot(page, "10-photos")
