"""The Mini App's API: initData auth, catalogue, cart, checkout into the bot's orders,
Stars invoice links against the fake Bot API, and one buyer never seeing another's."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from pipeline.settings import get_settings
from schema.orders import Order
from schema.users import User
from scripts.fakes.bot_api import FakeBotApiThread
from scripts.fakes.providers import FakeProvidersThread
from tests.api.miniapp.miniapp_support import add_products, bot_api, client, tma
from tests.api.miniapp.test_miniapp_initdata import BOT_ID, public, third_party

__all__ = ["bot_api", "client"]  # fixtures, for pytest
M = "/api/v1/miniapp"


def test_without_or_with_bad_init_data_401(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, client: TestClient
) -> None:
    assert client.get(f"{M}/catalog").status_code == 401
    bearer = {"Authorization": "Bearer abc"}
    assert client.get(f"{M}/catalog", headers=bearer).status_code == 401
    forged = {"Authorization": tma(1)["Authorization"].replace("Ann", "Bob")}
    answer = client.get(f"{M}/catalog", headers=forged)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("tma")
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_the_buyer_is_the_bots_user_in_their_language(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, client: TestClient
) -> None:
    add_products(db)
    with db() as session:
        session.add(User(telegram_id=5, chat_id=5, first_name="Known", language="ru"))
        session.commit()
    me = client.get(f"{M}/me", headers=tma(5, "en")).json()
    assert (me["telegram_id"], me["language"]) == (5, "ru")  # the row the bot already had
    titles = [p["title"] for p in client.get(f"{M}/catalog", headers=tma(5)).json()["items"]]
    assert titles == ["Чай", "Кружка"]
    client.put(f"{M}/me/language", headers=tma(5), json={"language": "en"})
    titles = [p["title"] for p in client.get(f"{M}/catalog", headers=tma(5)).json()["items"]]
    assert titles == ["Tea", "Mug"]
    with db() as session:
        assert session.scalars(select(User.language).where(User.telegram_id == 5)).one() == "en"
    bad = client.put(f"{M}/me/language", headers=tma(5), json={"language": "xx"})
    assert bad.status_code == 422


def test_cart_checkout_and_stars_invoice_link(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, client: TestClient
) -> None:
    ids = add_products(db)
    h = tma(10)
    assert client.put(f"{M}/cart/{ids['tea']}", headers=h, json={"quantity": 2}).status_code == 200
    cart = client.get(f"{M}/cart", headers=h).json()
    assert [(i["product"]["code"], i["quantity"]) for i in cart["items"]] == [("tea", 2)]
    assert "stars" in cart["methods"]
    assert client.put(f"{M}/cart/999999", headers=h, json={"quantity": 1}).status_code == 409
    assert (
        client.put(f"{M}/cart/{ids['tea']}", headers=h, json={"quantity": 100}).status_code == 422
    )

    made = client.post(f"{M}/checkout", headers=h, json={"method": "stars"})
    assert made.status_code == 201, made.text
    (order,) = made.json()["orders"]
    assert (order["amount_minor"], order["currency"], order["quantity"]) == (100, "XTR", 2)
    assert client.get(f"{M}/cart", headers=h).json()["items"] == []
    with db() as session:  # the same order the bot creates
        row = session.scalars(select(Order).where(Order.public_id == order["public_id"])).one()
        assert (row.payment_method, row.status) == ("stars", "pending")

    paid = client.post(f"{M}/orders/{order['public_id']}/pay", headers=h)
    assert paid.status_code == 200, paid.text
    assert paid.json()["kind"] == "invoice" and paid.json()["url"].startswith("https://t.me/$")
    (call,) = bot_api.sent("createInvoiceLink")
    assert (call["payload"], call["currency"], call["provider_token"]) == (
        order["public_id"],
        "XTR",
        "",
    )
    assert call["prices"] == [{"label": "Tea", "amount": 100}]


def test_checkout_refuses_what_cannot_be_paid(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, client: TestClient
) -> None:
    ids = add_products(db)
    h = tma(11)
    assert client.post(f"{M}/checkout", headers=h, json={"method": "stars"}).status_code == 409
    client.put(f"{M}/cart/{ids['mug']}", headers=h, json={"quantity": 1})
    answer = client.post(f"{M}/checkout", headers=h, json={"method": "stars"})
    assert answer.status_code == 409 and "not sold for Stars" in answer.json()["detail"]
    answer = client.post(f"{M}/checkout", headers=h, json={"method": "card"})
    assert answer.status_code == 409  # no provider token configured
    assert client.post(f"{M}/checkout", headers=h, json={"method": "cash"}).status_code == 422


def test_paying_needs_fresh_init_data(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, client: TestClient
) -> None:
    ids = add_products(db)
    old = tma(12, auth_date=int(time.time()) - 2 * 3600)
    assert (
        client.put(f"{M}/cart/{ids['tea']}", headers=old, json={"quantity": 1}).status_code == 200
    )
    answer = client.post(f"{M}/checkout", headers=old, json={"method": "stars"})
    assert answer.status_code == 401 and "too old" in answer.json()["detail"]
    stale = tma(12, auth_date=int(time.time()) - 2 * 86400)
    assert client.get(f"{M}/cart", headers=stale).status_code == 401


def test_another_buyers_order_is_not_found(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, client: TestClient
) -> None:
    ids = add_products(db)
    client.put(f"{M}/cart/{ids['tea']}", headers=tma(20), json={"quantity": 1})
    made = client.post(f"{M}/checkout", headers=tma(20), json={"method": "stars"})
    public_id = made.json()["orders"][0]["public_id"]
    assert client.get(f"{M}/orders/{public_id}", headers=tma(20)).status_code == 200
    assert client.get(f"{M}/orders/{public_id}", headers=tma(21)).status_code == 404
    assert client.post(f"{M}/orders/{public_id}/pay", headers=tma(21)).status_code == 404
    assert client.get(f"{M}/orders", headers=tma(21)).json()["items"] == []
    mine = client.get(f"{M}/orders", headers=tma(20)).json()["items"]
    assert [o["public_id"] for o in mine] == [public_id]


def test_feedback_reaches_the_operators_chat(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, client: TestClient
) -> None:
    answer = client.post(f"{M}/feedback", headers=tma(30), json={"text": "Hello"})
    assert answer.status_code == 202, answer.text
    (sent,) = bot_api.sent()
    assert sent["chat_id"] == -100777 and "Hello" in sent["text"]
    assert client.post(f"{M}/feedback", headers=tma(30), json={"text": ""}).status_code == 422


def test_the_page_is_served_with_only_telegrams_script_from_outside(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, client: TestClient
) -> None:
    page = client.get("/app/")
    assert page.status_code == 200 and "telegram-web-app.js" in page.text
    assert "script-src 'self' https://telegram.org" in page.headers["content-security-policy"]
    external = [line for line in page.text.splitlines() if "https://" in line]
    assert external == ['  <script src="https://telegram.org/js/telegram-web-app.js"></script>']
    assert client.get("/app/app.js").status_code == 200
    assert client.get("/app", follow_redirects=False).headers["location"] == "/app/"


def test_without_the_bot_token_telegrams_signature_is_checked(
    db: sessionmaker[Session], api_env: pytest.MonkeyPatch
) -> None:
    key = Ed25519PrivateKey.generate()
    api_env.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    api_env.setenv("MINIAPP_BOT_ID", str(BOT_ID))
    api_env.setenv("MINIAPP_SIGNATURE_PUBLIC_KEY", public(key).hex())
    api_env.setenv("OPERATOR_CHAT_ID", "-100777")
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as api:
        good = api.get(f"{M}/me", headers={"Authorization": f"tma {third_party(key)}"})
        assert good.status_code == 200 and good.json()["telegram_id"] == 42
        # Sending through the Bot API needs the token: a clear 503, not a crash.
        note = {"Authorization": f"tma {third_party(key)}"}
        assert api.post(f"{M}/feedback", headers=note, json={"text": "hi"}).status_code == 503
        other = Ed25519PrivateKey.generate()
        bad = api.get(f"{M}/me", headers={"Authorization": f"tma {third_party(other)}"})
        assert bad.status_code == 401


def test_provider_payment_invoice_carries_the_provider_token(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, api_env: pytest.MonkeyPatch
) -> None:
    ids = add_products(db)
    api_env.setenv("TELEGRAM_PAYMENT_PROVIDER_TOKEN", "381764678:TEST:provider")
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as api:
        h = tma(50)
        api.put(f"{M}/cart/{ids['mug']}", headers=h, json={"quantity": 2})
        made = api.post(f"{M}/checkout", headers=h, json={"method": "card"})
        assert made.status_code == 201, made.text
        (order,) = made.json()["orders"]
        assert (order["amount_minor"], order["currency"]) == (180000, "RUB")
        paid = api.post(f"{M}/orders/{order['public_id']}/pay", headers=h)
        assert paid.status_code == 200 and paid.json()["kind"] == "invoice"
    (call,) = bot_api.sent("createInvoiceLink")
    assert (call["provider_token"], call["currency"]) == ("381764678:TEST:provider", "RUB")
    assert call["prices"] == [{"label": "Mug", "amount": 180000}]


def test_an_unconfigured_server_authenticates_nobody(
    db: sessionmaker[Session], api_client: TestClient
) -> None:
    answer = api_client.get(f"{M}/me", headers=tma(1))
    assert answer.status_code == 401 and "not set up" in answer.json()["detail"]


def test_yookassa_link_where_configured(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, api_env: pytest.MonkeyPatch
) -> None:
    ids = add_products(db)
    yookassa = FakeProvidersThread()
    try:
        api_env.setenv("YOOKASSA_SHOP_ID", "54401")
        api_env.setenv("YOOKASSA_SECRET_KEY", "test_key")
        api_env.setenv("YOOKASSA_API_BASE", yookassa.url)
        get_settings.cache_clear()
        with TestClient(create_app(get_settings())) as api:
            h = tma(60)
            assert "link" in api.get(f"{M}/catalog", headers=h).json()["methods"]
            api.put(f"{M}/cart/{ids['mug']}", headers=h, json={"quantity": 1})
            (order,) = api.post(f"{M}/checkout", headers=h, json={"method": "link"}).json()[
                "orders"
            ]
            first = api.post(f"{M}/orders/{order['public_id']}/pay", headers=h).json()
            again = api.post(f"{M}/orders/{order['public_id']}/pay", headers=h).json()
            assert first["kind"] == "link" and first == again  # one payment per order
            shown = api.get(f"{M}/orders/{order['public_id']}", headers=h).json()
            assert shown["payment_url"] == first["url"]
        assert len(yookassa.calls("/v3/payments")) == 1
    finally:
        yookassa.stop()


def test_buyers_are_rate_limited_each_on_their_own(
    db: sessionmaker[Session], bot_api: FakeBotApiThread, api_env: pytest.MonkeyPatch
) -> None:
    api_env.setenv("API_RATE_LIMIT", "3/minute")
    get_settings.cache_clear()
    with TestClient(create_app(get_settings())) as api:
        codes = [api.get(f"{M}/cart", headers=tma(70)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        assert api.get(f"{M}/cart", headers=tma(71)).status_code == 200


def test_the_api_keeps_the_provider_settings_it_started_with(
    db: sessionmaker[Session], client: TestClient, api_env: pytest.MonkeyPatch
) -> None:
    add_products(db)
    assert "link" not in client.get(f"{M}/catalog", headers=tma(80)).json()["methods"]
    api_env.setenv("YOOKASSA_SHOP_ID", "54401")  # too late: read when the process started
    api_env.setenv("YOOKASSA_SECRET_KEY", "test_key")
    assert "link" not in client.get(f"{M}/catalog", headers=tma(80)).json()["methods"]
    assert "link" not in client.get(f"{M}/cart", headers=tma(80)).json()["methods"]
