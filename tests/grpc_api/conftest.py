"""A running gRPC server on real PostgreSQL and Redis (broker and live channel), with an
API key factory; clients talk to it over real channels."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from pipeline.auth import apikeys
from pipeline.deps import Deps
from pipeline.settings import Settings, get_settings
from pipeline.unit_of_work import unit_of_work
from tests.grpc_api.support import ServerThread, serving
from tests.support.services import TestServices

SOURCES = {"crm": "tests.grpc_api.handlers:on_crm_event"}


@pytest.fixture
def grpc_settings(
    db: sessionmaker[Session], services: TestServices, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("BROKER_URL", services.redis_url)
    monkeypatch.setenv("REDIS_URL", services.redis_client_url)
    monkeypatch.setenv("QUEUE_PREFIX", f"t{uuid.uuid4().hex[:8]}-")
    monkeypatch.setenv("GRPC_SOURCES", json.dumps(SOURCES))
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def server(grpc_settings: Settings) -> Iterator[ServerThread]:
    with serving(grpc_settings) as running:
        yield running


@pytest.fixture
def api_key(db: sessionmaker[Session]) -> Callable[..., str]:
    def make(*scopes: str) -> str:
        with unit_of_work(db, Deps.build()) as uow:
            return apikeys.create_key(uow.session, f"grpc-{uuid.uuid4().hex[:6]}", scopes).key

    return make
