"""Shared pieces of the Mini App tests: a fake Bot API, products, signed initData."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from pipeline.miniapp.signing import sign_init_data
from schema.catalog import Product
from scripts.fakes.bot_api import FakeBotApiThread

TOKEN = "777000:miniapp-test-token"


def buyer(telegram_id: int, language: str = "en", name: str = "Ann") -> dict[str, Any]:
    return {"id": telegram_id, "first_name": name, "language_code": language}


def init_data(telegram_id: int, language: str = "en", **kwargs: Any) -> str:
    return sign_init_data(TOKEN, buyer(telegram_id, language), **kwargs)


def tma(telegram_id: int, language: str = "en", **kwargs: Any) -> dict[str, str]:
    return {"Authorization": f"tma {init_data(telegram_id, language, **kwargs)}"}


@pytest.fixture
def bot_api(api_env: pytest.MonkeyPatch) -> Iterator[FakeBotApiThread]:
    server = FakeBotApiThread()
    api_env.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    api_env.setenv("TELEGRAM_API_BASE", server.url)
    api_env.setenv("OPERATOR_CHAT_ID", "-100777")
    yield server
    server.stop()


def add_products(db: sessionmaker[Session]) -> dict[str, int]:
    with db() as session:
        products = [
            Product(
                code="tea",
                title_ru="Чай",
                title_en="Tea",
                description_ru="Зелёный чай",
                description_en="Green tea",
                price_minor=25000,
                stars_price=50,
                translations={"de": {"title": "Tee", "description": "Grüner Tee"}},
            ),
            Product(
                code="mug",
                title_ru="Кружка",
                title_en="Mug",
                description_ru="Большая",
                description_en="A big one",
                price_minor=90000,
                stars_price=None,
            ),
        ]
        session.add_all(products)
        session.commit()
        return {p.code: p.id for p in products}


@pytest.fixture
def client(bot_api: FakeBotApiThread, api_client: TestClient) -> TestClient:
    """The API, with the fake Bot API and its token configured first."""
    return api_client
