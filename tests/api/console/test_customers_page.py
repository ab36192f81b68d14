"""The customers pages: search, one customer's orders and feedback, block with a reason
and unblock (a real browser for the operator; plain HTTP for roles and CSRF)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from schema import FeedbackMessage, Order, Product, User
from tests.api.console.conftest import open_page, signed_in
from tests.api.console.support import Operator, shot, start_session


def customers(db: sessionmaker[Session]) -> int:
    """Three customers; the first with an order and a short feedback thread. Its id."""
    with db() as session:
        ann = User(telegram_id=7001, chat_id=7001, username="ann_buyer", first_name="Ann",
                   language="ru")  # fmt: skip
        session.add_all([
            ann,
            User(telegram_id=7002, chat_id=7002, username="bob", first_name="Bob"),
            User(telegram_id=7003, chat_id=7003, first_name="Carol", language="de"),
        ])  # fmt: skip
        product = Product(code="tea", title_ru="Чай", title_en="Tea", price_minor=25000)
        session.add(product)
        session.flush()
        session.add_all([
            Order(public_id="o-ann1", user_id=ann.id, product_id=product.id, amount_minor=25000,
                  currency="RUB", payment_method="yookassa", status="paid"),
            FeedbackMessage(user_id=ann.id, direction="in", text="Где мой заказ?",
                            user_chat_id=7001, operator_chat_id=-100),
            FeedbackMessage(user_id=ann.id, direction="out", text="Уже в пути!",
                            user_chat_id=7001, operator_chat_id=-100),
        ])  # fmt: skip
        session.commit()
        return ann.id


def test_search_filters_and_roles_over_http(
    console_client: TestClient, db: sessionmaker[Session], operator: Callable[..., Operator]
) -> None:
    ann = customers(db)
    client = signed_in(console_client, operator("viewer"))
    found = client.get("/admin/customers", params={"q": "@ann_b"}).text
    assert "ann_buyer" in found and "Bob" not in found
    assert "Carol" in client.get("/admin/customers", params={"q": "7003"}).text
    page = client.get(f"/admin/customers/{ann}").text
    assert "o-ann1" in page and "Где мой заказ?" in page and 'data-test="block"' not in page
    assert client.post(f"/admin/customers/{ann}/block", data={}).status_code == 403
    assert client.get("/admin/customers/999999").status_code == 404
    assert client.get("/admin/customers", params={"show": "x"}).status_code in (400, 422)
    who = operator("operator")
    client = signed_in(console_client, who)
    no_csrf = client.post(f"/admin/customers/{ann}/block", data={"reason": "spam"})
    assert no_csrf.status_code == 403
    long = client.post(
        f"/admin/customers/{ann}/block", data={"csrf_token": who.csrf, "reason": "x" * 501}
    )
    assert long.status_code == 422
    with db() as session:
        user = session.get(User, ann)
        assert user is not None and user.blocked is False


def test_an_operator_blocks_and_unblocks_in_the_browser(
    db: sessionmaker[Session], console_url: str, served_runtime: Any, browser: Any
) -> None:
    ann = customers(db)
    who = start_session(served_runtime, "operator", "ops@example.com")
    page = open_page(browser, console_url, who, path="/admin/customers")
    page.wait_for_selector("h1:has-text('Customers')")
    shot(page, "customers-list")
    page.fill("[data-test=customer-search]", "ann")
    page.press("[data-test=customer-search]", "Enter")
    page.wait_for_selector("table[data-test=customers] >> text=ann_buyer")
    assert page.locator("table[data-test=customers] tbody tr").count() == 1
    page.click("a:has-text('Ann')")
    page.wait_for_selector("[data-test=block]")
    shot(page, "customer-detail")
    page.fill("[data-test=block-reason-input]", "Spam in the chat")
    page.click("[data-test=block]")
    page.wait_for_selector("#confirm-dialog[open]")
    page.click("[data-test=confirm-ok]")
    page.wait_for_selector("[data-test=blocked-badge]")
    assert page.inner_text("[data-test=block-reason]") == "Spam in the chat"
    shot(page, "customer-blocked")
    with db() as session:
        user = session.get(User, ann)
        assert user is not None and user.blocked and user.blocked_by == "ops@example.com"
    page.click("[data-test=unblock]")
    page.wait_for_selector("#confirm-dialog[open]")
    page.click("[data-test=confirm-ok]")
    page.wait_for_selector("[data-test=block]")
    with db() as session:
        user = session.get(User, ann)
        assert user is not None and not user.blocked and user.blocked_reason is None
    phone = open_page(browser, console_url, who, path=f"/admin/customers/{ann}", phone=True)
    phone.wait_for_selector("h1")
    shot(phone, "customer-phone")
    assert page.outside == [] and page.errors == [] and phone.errors == []
