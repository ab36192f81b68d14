"""Keyset pages of the API's lists, read through the repositories: each list pages
newest first, `next_cursor` continues below the last id, and the filters hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from schema import Payment, Receipt, User
from schema.catalog import Product
from schema.messaging import Broadcast
from schema.operations import BackupRun
from schema.orders import Order
from tests.api.conftest import bearer


@pytest.fixture
def viewer(staff_token: Callable[..., str]) -> dict[str, str]:
    return bearer(staff_token("viewer"))


def _ids_by_pages(
    client: TestClient, path: str, headers: dict[str, str], **params: Any
) -> list[list[int]]:
    """The ids of every page of two, following `next_cursor` to the end."""
    pages: list[list[int]] = []
    cursor = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        answer = client.get(path, params=query, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def _shop(db: sessionmaker[Session]) -> dict[str, list[int]]:
    """Three orders (two of the first user) with a payment and a receipt each."""
    with db() as session:
        users = [User(telegram_id=900 + n, chat_id=900 + n) for n in range(2)]
        product = Product(code="p1", title_ru="Курс", title_en="Course", price_minor=100)
        session.add_all([*users, product])
        session.flush()
        orders = [
            Order(public_id=f"o-{n}", user_id=owner.id, product_id=product.id,
                  amount_minor=100, currency="RUB", payment_method="yookassa")
            for n, owner in enumerate((users[0], users[0], users[1]))
        ]  # fmt: skip
        session.add_all(orders)
        session.flush()
        payments = [
            Payment(provider="yookassa", provider_payment_id=f"pay-{o.id}", order_id=o.id,
                    status="succeeded", amount_minor=100, paid_minor=100, currency="RUB")
            for o in orders
        ]  # fmt: skip
        session.add_all(payments)
        session.flush()
        receipts = [
            Receipt(payment_id=p.id, kind="sell", register="atol",
                    external_id=f"p{p.id}-sell-0", status="done", total_minor=100)
            for p in payments
        ]  # fmt: skip
        session.add_all(receipts)
        session.commit()
        return {
            "users": [u.id for u in users],
            "orders": [o.id for o in orders],
            "payments": [p.id for p in payments],
            "receipts": [r.id for r in receipts],
        }


def test_orders_payments_and_receipts_page_newest_first(
    api_client: TestClient, db: sessionmaker[Session], viewer: dict[str, str]
) -> None:
    made = _shop(db)
    for name in ("orders", "payments", "receipts"):
        first, second, third = made[name]
        pages = _ids_by_pages(api_client, f"/api/v1/{name}", viewer)
        assert pages == [[third, second], [first]], name
    of_first_user = _ids_by_pages(api_client, "/api/v1/orders", viewer, user_id=made["users"][0])
    assert of_first_user == [[made["orders"][1], made["orders"][0]]]


def test_backups_and_broadcasts_page_newest_first(
    api_client: TestClient, db: sessionmaker[Session], viewer: dict[str, str]
) -> None:
    with db() as session:
        runs = [BackupRun(started_at=datetime.now(UTC)) for _ in range(3)]
        broadcasts = [Broadcast(text=f"news {n}", status="done") for n in range(3)]
        session.add_all([*runs, *broadcasts])
        session.commit()
        run_ids, broadcast_ids = [r.id for r in runs], [b.id for b in broadcasts]
    assert _ids_by_pages(api_client, "/api/v1/backups", viewer) == [run_ids[:0:-1], run_ids[:1]]
    assert _ids_by_pages(api_client, "/api/v1/broadcasts", viewer) == [
        broadcast_ids[:0:-1],
        broadcast_ids[:1],
    ]


def test_users_filter_by_activity_and_match_the_query_as_given(
    api_client: TestClient, db: sessionmaker[Session], viewer: dict[str, str]
) -> None:
    with db() as session:
        users = [
            User(telegram_id=800, chat_id=800, username="kept", is_active=True),
            User(telegram_id=801, chat_id=801, username="gone", is_active=False),
        ]
        session.add_all(users)
        session.commit()
        kept, gone = (u.id for u in users)
    inactive = _ids_by_pages(api_client, "/api/v1/users", viewer, active=False)
    assert inactive == [[gone]]
    assert _ids_by_pages(api_client, "/api/v1/users", viewer, q="kept") == [[kept]]
    # The API matches "@kept" as written; the console's search box strips the @.
    assert _ids_by_pages(api_client, "/api/v1/users", viewer, q="@kept") == [[]]
