"""Source allowlists and the client address behind trusted proxies."""

from __future__ import annotations

import pytest

from pipeline.providers.base import Forbidden
from pipeline.providers.config import ProviderSettings
from pipeline.providers.networks import contains, parse_networks, require_source, resolve_client
from pipeline.providers.yookassa import OFFICIAL_NETWORKS, YooKassaSettings
from pipeline.settings import Settings
from tests.pipeline.providers.cases import CASES
from tests.pipeline.providers.conftest import OUTSIDE, enqueued, running_receiver

PROXY = "10.0.0.5"


def test_parse_accepts_networks_and_single_addresses() -> None:
    networks = parse_networks("185.71.76.0/27, 77.75.156.11,2a02:5180::/32")
    assert contains(networks, "185.71.76.31")
    assert not contains(networks, "185.71.76.32")
    assert contains(networks, "77.75.156.11")
    assert contains(networks, "2a02:5180::1")
    assert contains(networks, "::ffff:185.71.76.1")  # IPv4 seen through an IPv6 socket
    assert not contains(networks, "not an address")
    assert not contains(networks, None)


def test_parse_names_a_bad_entry() -> None:
    with pytest.raises(ValueError, match=r"'300\.1\.1\.1'"):
        parse_networks("10.0.0.0/8,300.1.1.1")


def test_bad_allowlist_setting_fails_at_startup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YOOKASSA_ALLOWED_NETWORKS", "10.0.0.0/8, nonsense")
    with pytest.raises(ValueError, match="nonsense"):
        YooKassaSettings()
    with pytest.raises(ValueError):
        Settings(trusted_proxies="10.0.0.0/33")


def test_allowlist_off_unless_configured() -> None:
    assert ProviderSettings().source_networks(OFFICIAL_NETWORKS) is None
    require_source(OUTSIDE, None, "x")
    enforced = ProviderSettings(enforce_official_networks=True).source_networks(OFFICIAL_NETWORKS)
    assert enforced is not None and contains(enforced, "77.75.153.1")
    with pytest.raises(Forbidden):
        require_source(OUTSIDE, enforced, "yookassa")


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        (PROXY, "185.71.76.5", "185.71.76.5"),
        (PROXY, "6.6.6.6, 185.71.76.5", "185.71.76.5"),  # the client cannot inject hops
        (PROXY, "185.71.76.5, 10.0.0.9", "185.71.76.5"),  # skips further trusted hops
        (PROXY, None, PROXY),
        ("203.0.113.9", "185.71.76.5", "203.0.113.9"),  # untrusted peer: header ignored
    ],
)
def test_resolve_client(peer: str, forwarded: str | None, expected: str) -> None:
    assert resolve_client(peer, forwarded, parse_networks("10.0.0.0/8")) == expected


def test_forwarded_for_is_believed_only_from_trusted_proxies(
    broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YOOKASSA_ENFORCE_OFFICIAL_NETWORKS", "true")
    valid = CASES["yookassa"].valid()
    from_yookassa = valid.with_headers(X_Forwarded_For="185.71.76.5")
    with running_receiver(broker, client=PROXY, trusted_proxies="10.0.0.0/8") as (_, send):
        assert send(from_yookassa).status_code == 200
        assert send(valid.with_headers(X_Forwarded_For=OUTSIDE)).status_code == 403
    # Without TRUSTED_PROXIES the header is anyone's to write.
    with running_receiver(broker, client=OUTSIDE) as (_, send):
        assert send(from_yookassa).status_code == 403
    assert enqueued(broker) == 1
