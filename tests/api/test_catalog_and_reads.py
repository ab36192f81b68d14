"""Catalogue (cached, invalidated on writes), providers, stats and alerts resources."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from schema.events import Event
from schema.operations import Alert
from tests.api.conftest import bearer

PRODUCT = {
    "code": "consult",
    "price_minor": 150000,
    "translations": {
        "ru": {"title": "Консультация"},
        "en": {"title": "Consultation", "description": "One hour"},
        "de": {"title": "Beratung"},
    },
}


@pytest.fixture
def viewer(staff_token: Callable[..., str]) -> dict[str, str]:
    return bearer(staff_token("viewer"))


@pytest.fixture
def operator(staff_token: Callable[..., str]) -> dict[str, str]:
    return bearer(staff_token("operator"))


def test_products_create_update_deactivate_with_translations(
    api_client: TestClient, db: sessionmaker[Session], operator: dict[str, str]
) -> None:
    assert api_client.get("/api/v1/products", headers=operator).json() == []  # now cached
    created = api_client.post("/api/v1/products", json=PRODUCT, headers=operator)
    assert created.status_code == 201, created.text
    product = created.json()
    assert product["translations"]["de"] == {"title": "Beratung", "description": ""}
    listed = api_client.get("/api/v1/products", headers=operator).json()
    assert [p["code"] for p in listed] == ["consult"], "the write invalidated the cache"

    changed = api_client.patch(
        f"/api/v1/products/{product['id']}",
        json={"price_minor": 99000, "translations": {"en": {"title": "Call"}}},
        headers=operator,
    ).json()
    assert changed["price_minor"] == 99000 and changed["translations"]["en"]["title"] == "Call"
    assert changed["translations"]["ru"]["title"] == "Консультация"
    gone = api_client.delete(f"/api/v1/products/{product['id']}", headers=operator)
    assert gone.status_code == 200 and gone.json()["is_active"] is False
    assert api_client.get("/api/v1/products", headers=operator).json() == []
    everything = api_client.get(
        "/api/v1/products", params={"include_inactive": True}, headers=operator
    ).json()
    assert everything[0]["price_minor"] == 99000


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({**PRODUCT, "translations": {"ru": {"title": "x"}}}, 422),  # en missing
        ({**PRODUCT, "price_minor": -1}, 422),
        ({**PRODUCT, "translations": {"xx-yy-zz": {"title": "x"}}}, 422),
        ({**PRODUCT, "surprise": 1}, 422),
        ({**PRODUCT, "code": "bad code!"}, 422),
    ],
)
def test_product_validation(
    api_client: TestClient, operator: dict[str, str], body: dict[str, object], status: int
) -> None:
    answer = api_client.post("/api/v1/products", json=body, headers=operator)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_product_conflicts_missing_and_permissions(
    api_client: TestClient, operator: dict[str, str], viewer: dict[str, str]
) -> None:
    assert api_client.post("/api/v1/products", json=PRODUCT, headers=operator).status_code == 201
    assert api_client.post("/api/v1/products", json=PRODUCT, headers=operator).status_code == 409
    missing = api_client.patch("/api/v1/products/999", json={}, headers=operator)
    assert missing.status_code == 404
    null = api_client.patch("/api/v1/products/1", json={"price_minor": None}, headers=operator)
    assert null.status_code == 422
    assert api_client.post("/api/v1/products", json=PRODUCT, headers=viewer).status_code == 403
    assert api_client.delete("/api/v1/products/1", headers=viewer).status_code == 403
    assert api_client.get("/api/v1/products", headers=viewer).status_code == 200


def test_cache_hits_show_in_metrics(api_client: TestClient, viewer: dict[str, str]) -> None:
    for _ in range(3):
        api_client.get("/api/v1/products", headers=viewer)
    exposition = api_client.get("/metrics").text
    assert 'pipeline_cache_requests_total{cache="catalog",result="hit"}' in exposition
    assert "pipeline_cache_read_seconds_bucket" in exposition


def test_providers_show_route_configuration_and_health(
    api_client: TestClient, db: sessionmaker[Session], viewer: dict[str, str]
) -> None:
    with db() as session:
        for n, status in enumerate(["processed", "dead", "failed", "processed"]):
            session.add(
                Event(
                    source="stripe", type="t", external_id=f"e{n}", status=status,
                    payload={}, received_at=datetime.now(UTC),
                )
            )  # fmt: skip
        session.commit()
    rows = {p["name"]: p for p in api_client.get("/api/v1/providers", headers=viewer).json()}
    stripe = rows["stripe"]
    assert stripe["route"] == "/webhooks/stripe" and stripe["configured"] is True
    assert stripe["events_last_hour"] == 4 and stripe["error_rate_last_hour"] == 0.5
    assert rows["tbank"]["last_event_at"] is None


def test_stats_per_minute_and_alerts(
    api_client: TestClient, db: sessionmaker[Session], viewer: dict[str, str],
    api_key: Callable[..., str],
) -> None:  # fmt: skip
    now = datetime.now(UTC)
    with db() as session:
        session.add_all(
            Event(source="tbank", type="t", external_id=f"s{n}", status="processed",
                  payload={}, received_at=now)
            for n in range(3)
        )  # fmt: skip
        session.add(
            Alert(key="k1", status="firing", text="queue is deep", first_at=now, last_at=now)
        )
        session.add(Alert(key="k2", status="resolved", text="old", first_at=now, last_at=now))
        session.commit()
    counts = api_client.get("/api/v1/stats/events", params={"minutes": 5}, headers=viewer).json()
    assert [(c["source"], c["status"], c["count"]) for c in counts] == [("tbank", "processed", 3)]
    assert (
        api_client.get("/api/v1/stats/events", params={"minutes": 0}, headers=viewer).status_code
        == 422
    )
    alerts = api_client.get("/api/v1/alerts", headers=viewer).json()
    assert [a["key"] for a in alerts] == ["k1", "k2"]
    active = api_client.get("/api/v1/alerts", params={"active": True}, headers=viewer).json()
    assert [a["key"] for a in active] == ["k1"]
    no_scope = {"X-API-Key": api_key(["events:read"])}
    for path in ("/api/v1/alerts", "/api/v1/stats/events", "/api/v1/providers", "/api/v1/products"):
        assert api_client.get(path, headers=no_scope).status_code == 403, path
